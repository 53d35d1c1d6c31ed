# Satterthwaite inference (lmerTest) and conditional modes (lme4 ranef, condVar) for issue 20.
# Usage (from the repository root):
#   Rscript tests/reference/r/make_lmertest_cases.R tests/reference/data
# Reads the panel reference data in <data>/panel (lag pairing exactly as ref_panel.R) and the
# report's early-alliance client table in <data>/report, writes
# lme4's sleepstudy to <data>/lmertest/sleepstudy.csv and every case to
# <data>/lmertest/lmertest_cases.json, each with a provenance block.
#
# Per case: lmerTest's summary table (Estimate, Std. Error, df, t value, Pr(>|t|)) with
# lme4's theta and sigma at the optimum (so the Satterthwaite computation can be checked at
# exactly these parameters), lmerTest's asymptotic covariance of (theta, sigma)
# (vcov_varpar, 2 x the inverse Hessian of the deviance, by numDeriv), the Satterthwaite df
# of a contrast of two fixed effects (contest1D), and the conditional modes of each
# random-effects term with their conditional variances (ranef(condVar = TRUE)).
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
data_dir <- commandArgs(TRUE)[1]
out_dir <- file.path(data_dir, "lmertest")
dir.create(out_dir, showWarnings = FALSE)

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

ranef_list <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  lapply(names(re), function(g) {
    tab <- re[[g]]
    pv <- attr(tab, "postVar")
    list(group = g, levels = rownames(tab), terms = colnames(tab),
         modes = unname(as.matrix(tab)),
         # condVar[level] is the q x q conditional covariance of that level's effects.
         cond_var = lapply(seq_len(nrow(tab)), function(i) unname(matrix(pv[, , i], ncol(tab)))))
  })
}

fit_case <- function(name, file, m, formula, reml, options, contrast) {
  ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
  fit <- lmerTest::lmer(as.formula(formula), data = m, REML = reml, control = ctrl)
  co <- summary(fit)$coefficients
  L <- setNames(numeric(nrow(co)), rownames(co))
  L[names(contrast)] <- unlist(contrast)
  con <- contest1D(fit, L, ddf = "Satterthwaite")
  list(
    name = name, data = file, options = options, formula = formula, reml = reml,
    n_obs = nrow(m),
    terms = rownames(co),
    estimate = unname(co[, "Estimate"]), se = unname(co[, "Std. Error"]),
    df = unname(co[, "df"]), statistic = unname(co[, "t value"]),
    p_value = unname(co[, "Pr(>|t|)"]),
    theta = unname(getME(fit, "theta")), theta_names = names(getME(fit, "theta")),
    sigma = sigma(fit), loglik = as.numeric(logLik(fit)), singular = isSingular(fit),
    vcov_varpar = unname(fit@vcov_varpar),
    contrast = list(weights = contrast, estimate = con$Estimate, se = con[["Std. Error"]],
                    df = con$df, statistic = con[["t value"]], p_value = con[["Pr(>|t|)"]]),
    ranef = ranef_list(fit),
    provenance = list(
      r_version = R.version.string, lme4 = as.character(packageVersion("lme4")),
      lmerTest = as.character(packageVersion("lmerTest")),
      numDeriv = as.character(packageVersion("numDeriv")),
      call = paste0("lmerTest::lmer(", formula, ", REML = ", reml,
                    ", control = lmerControl(optimizer = 'bobyqa', rhoend = 1e-10)); ",
                    "summary(fit)$coefficients; contest1D(fit, L); ranef(fit, condVar = TRUE)"),
      script = "tests/reference/r/make_lmertest_cases.R"))
}

panel <- function(f) prepare(read.csv(file.path(data_dir, "panel", f), stringsAsFactors = FALSE))
a <- panel("panel_a.csv"); b <- panel("panel_b_gaps.csv"); c <- panel("panel_c.csv")
d <- panel("panel_d_boundary.csv")
data(sleepstudy, package = "lme4")
sleep <- data.frame(Subject = as.character(sleepstudy$Subject), Days = sleepstudy$Days,
                    Reaction = sleepstudy$Reaction)
write.csv(sleep, file.path(out_dir, "sleepstudy.csv"), row.names = FALSE)
sleep <- read.csv(file.path(out_dir, "sleepstudy.csv"), stringsAsFactors = FALSE)
# The report's early-alliance model (made by make_report_references.R).
early <- read.csv(file.path(data_dir, "report", "early_alliance_clients.csv"),
                  stringsAsFactors = FALSE)

base <- "outcome_next ~ outcome + alliance_within + alliance_between"
slope <- "(1 + alliance_within | client_id)"
wb <- list(alliance_within = 1, alliance_between = -1)
cases <- list(
  fit_case("a_reml", "panel/panel_a.csv", a, paste(base, "+", slope), TRUE, list(), wb),
  fit_case("a_ml", "panel/panel_a.csv", a, paste(base, "+", slope), FALSE, list(), wb),
  fit_case("b_gaps_reml", "panel/panel_b_gaps.csv", b, paste(base, "+", slope), TRUE, list(), wb),
  fit_case("c_session_trend_reml", "panel/panel_c.csv", c, paste(base, "+ session +", slope),
           TRUE, list(session_trend = TRUE), wb),
  fit_case("c_no_slope_reml", "panel/panel_c.csv", c, paste(base, "+ (1 | client_id)"), TRUE,
           list(random_slope = FALSE), wb),
  fit_case("c_therapist_reml", "panel/panel_c.csv", c,
           paste(base, "+", slope, "+ (1 | therapist_id)"), TRUE,
           list(therapist = "therapist_id"), wb),
  fit_case("d_therapist_nested_ml", "panel/panel_d_boundary.csv", d,
           paste(base, "+ (1 | client_id) + (1 | therapist_id)"), FALSE,
           list(random_slope = FALSE, therapist = "therapist_id"), wb),
  fit_case("sleep_slope_reml", "lmertest/sleepstudy.csv", sleep,
           "Reaction ~ Days + (Days | Subject)", TRUE, list(), list(Days = 1)),
  fit_case("sleep_slope_ml", "lmertest/sleepstudy.csv", sleep,
           "Reaction ~ Days + (Days | Subject)", FALSE, list(), list(Days = 1)),
  fit_case("sleep_intercept_reml", "lmertest/sleepstudy.csv", sleep,
           "Reaction ~ Days + (1 | Subject)", TRUE, list(), list(Days = 1)),
  fit_case("early_alliance_reml", "report/early_alliance_clients.csv", early,
           "change ~ early_alliance + intake + (1 | therapist_id)", TRUE, list(),
           list(early_alliance = 1))
)
write(toJSON(cases, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
      file.path(out_dir, "lmertest_cases.json"))
for (cs in cases) cat(sprintf("%-24s n=%d df=%s\n", cs$name, cs$n_obs,
                              paste(signif(cs$df, 6), collapse = " ")))
