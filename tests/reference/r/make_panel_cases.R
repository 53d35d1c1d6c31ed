# Project reference cases for `bordin panel` (issue 5): therapist random intercept (nested and
# crossed), session trend, a time-invariant covariate, no random slope, ML, and boundary fits.
# Usage (from the repository root):
#   Rscript tests/reference/r/make_panel_cases.R tests/reference/data/panel
# Writes panel_c.csv, panel_d_boundary.csv and panel_cases.json (one entry per case, each with
# a provenance block). Data preparation and lag pairing are exactly those of ref_panel.R.
suppressMessages({library(lme4); library(jsonlite)})
out_dir <- commandArgs(TRUE)[1]

simulate_panel <- function(n_clients, n_therapists, seed, sd_int, sd_slope, switch_share) {
  set.seed(seed)
  rows <- list()
  for (i in seq_len(n_clients)) {
    th <- sample.int(n_therapists, 1)
    n_s <- sample(4:14, 1)
    mu_a <- rnorm(1, 5, 0.6)
    u0 <- rnorm(1, 0, sd_int); u1 <- rnorm(1, 0, sd_slope)
    t_eff <- (th - n_therapists / 2) * 0.08
    intake <- round(rnorm(1, 15, 4), 1)
    y <- intake
    switch_at <- if (runif(1) < switch_share) sample(2:n_s, 1) else Inf
    sess <- seq_len(n_s)
    drop <- if (n_s > 6) sample(sess[-1], 1) else integer(0)   # a missed session breaks pairs
    for (s in sess) {
      a <- mu_a + rnorm(1, 0, 0.5)
      ther <- if (s >= switch_at) (th %% n_therapists) + 1 else th
      if (!(s %in% drop)) {
        rows[[length(rows) + 1]] <- data.frame(
          client_id = sprintf("k%04d", i), therapist_id = sprintf("t%02d", ther), session = s,
          alliance = round(a, 4), outcome = round(y, 4), intake = intake)
      }
      y <- 3 + 0.7 * y - (0.9 + u1) * (a - mu_a) - 0.5 * (mu_a - 5) + u0 + t_eff -
        0.05 * s + rnorm(1, 0, 1.5)
    }
  }
  do.call(rbind, rows)
}

prepare <- function(d) {
  d <- d[order(d$client_id, d$session), ]
  pm <- tapply(d$alliance, d$client_id, mean, na.rm = TRUE)
  d$alliance_between <- as.numeric(pm[d$client_id])
  d$alliance_within <- d$alliance - d$alliance_between
  key <- paste(d$client_id, d$session)
  nxt <- match(paste(d$client_id, d$session + 1), key)
  d$outcome_next <- d$outcome[nxt]
  d[!is.na(d$outcome_next) & !is.na(d$outcome) & !is.na(d$alliance), ]
}

fit_case <- function(name, file, d, formula, reml, options) {
  m <- prepare(d)
  fit <- lmer(as.formula(formula), data = m, REML = reml,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(rhoend = 1e-10,
                                                   maxfun = 1e5)))
  vc <- as.data.frame(VarCorr(fit))
  getsd <- function(grp, v1, v2 = NA) {
    r <- vc[vc$grp == grp & vc$var1 %in% v1 & (if (is.na(v2)) is.na(vc$var2) else vc$var2 %in% v2), ]
    if (nrow(r) == 0) NULL else r$sdcor[1]
  }
  fe <- fixef(fit); se <- sqrt(diag(as.matrix(vcov(fit))))
  res <- list(
    name = name, data = file, options = options,
    n_obs = nrow(m), n_clients = length(unique(m$client_id)), reml = reml,
    fixed = as.list(fe), se = setNames(as.list(se), names(fe)),
    sd_intercept = getsd("client_id", "(Intercept)"),
    sd_slope = getsd("client_id", "alliance_within"),
    corr = getsd("client_id", "(Intercept)", "alliance_within"),
    sd_therapist = getsd("therapist_id", "(Intercept)"),
    sd_residual = getsd("Residual", NA),
    loglik = as.numeric(logLik(fit)),
    singular = isSingular(fit),
    provenance = list(
      r_version = R.version.string, lme4 = as.character(packageVersion("lme4")),
      call = paste0("lmer(", formula, ", REML = ", reml,
                    ", control = lmerControl(optimizer = 'bobyqa', rhoend = 1e-10))"),
      script = "tests/reference/r/make_panel_cases.R"))
  res[!vapply(res, is.null, TRUE)]
}

c_data <- simulate_panel(300, 12, 20261128, sd_int = 0.8, sd_slope = 0.5, switch_share = 0.1)
d_data <- simulate_panel(200, 8, 7, sd_int = 0, sd_slope = 0, switch_share = 0)
write.csv(c_data, file.path(out_dir, "panel_c.csv"), row.names = FALSE)
write.csv(d_data, file.path(out_dir, "panel_d_boundary.csv"), row.names = FALSE)
c_data <- read.csv(file.path(out_dir, "panel_c.csv"), stringsAsFactors = FALSE)
d_data <- read.csv(file.path(out_dir, "panel_d_boundary.csv"), stringsAsFactors = FALSE)
# panel_e_saddle.csv is written by Python (see PROVENANCE.md): a panel where the origin of
# the covariance parameters is a saddle that a simplex search can stop on.
e_data <- read.csv(file.path(out_dir, "panel_e_saddle.csv"), stringsAsFactors = FALSE)

base <- "outcome_next ~ outcome + alliance_within + alliance_between"
slope <- "(1 + alliance_within | client_id)"
cases <- list(
  fit_case("c_therapist_reml", "panel_c.csv", c_data,
           paste(base, "+", slope, "+ (1 | therapist_id)"), TRUE, list(therapist = "therapist_id")),
  fit_case("c_therapist_ml", "panel_c.csv", c_data,
           paste(base, "+", slope, "+ (1 | therapist_id)"), FALSE, list(therapist = "therapist_id")),
  fit_case("c_session_trend_reml", "panel_c.csv", c_data,
           paste(base, "+ session +", slope), TRUE, list(session_trend = TRUE)),
  fit_case("c_covariate_ml", "panel_c.csv", c_data,
           paste(base, "+ intake +", slope), FALSE, list(covariates = list("intake"))),
  fit_case("c_no_slope_reml", "panel_c.csv", c_data,
           paste(base, "+ (1 | client_id)"), TRUE, list(random_slope = FALSE)),
  fit_case("c_all_ml", "panel_c.csv", c_data,
           paste(base, "+ session + intake +", slope, "+ (1 | therapist_id)"), FALSE,
           list(session_trend = TRUE, covariates = list("intake"), therapist = "therapist_id")),
  fit_case("d_boundary_reml", "panel_d_boundary.csv", d_data,
           paste(base, "+", slope), TRUE, list()),
  fit_case("d_boundary_no_slope_ml", "panel_d_boundary.csv", d_data,
           paste(base, "+ (1 | client_id) + (1 | therapist_id)"), FALSE,
           list(random_slope = FALSE, therapist = "therapist_id")),
  fit_case("e_saddle_reml", "panel_e_saddle.csv", e_data, paste(base, "+", slope), TRUE, list())
)
write(toJSON(cases, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
      file.path(out_dir, "panel_cases.json"))
for (cs in cases) cat(sprintf("%-24s n=%d loglik=%.6f singular=%s\n", cs$name, cs$n_obs, cs$loglik, cs$singular))
