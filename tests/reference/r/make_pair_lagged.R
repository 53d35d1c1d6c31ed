# The lagged within/between model with the client's and the therapist's rating (issue 18).
# Usage (from the repository root):
#   python tests/reference/r/make_pair_lagged_data.py   # the data (seeded)
#   Rscript tests/reference/r/make_pair_lagged.R tests/reference/data
# Both ratings are split into the client's mean over the sessions where it was observed and
# the deviation from it; a lag pairs session t with session t+1 of the same client (a missing
# session breaks the pair), as bordin.analytics.multilevel.prepare_lagged_design does.
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
data_dir <- commandArgs(TRUE)[1]
out_dir <- file.path(data_dir, "lmertest")
file <- "lmertest/pair_lagged.csv"
d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
d <- d[order(d$client_id, d$session), ]
split <- function(d, col) {
  pm <- tapply(d[[col]], d$client_id, mean, na.rm = TRUE)
  d[[paste0(col, "_between")]] <- as.numeric(pm[d$client_id])
  d[[paste0(col, "_within")]] <- d[[col]] - d[[paste0(col, "_between")]]
  d
}
d <- split(split(d, "client_total"), "therapist_total")
key <- paste(d$client_id, d$session)
d$outcome_next <- d$outcome[match(paste(d$client_id, d$session + 1), key)]
m <- d[!is.na(d$outcome_next) & !is.na(d$outcome) & !is.na(d$client_total) &
       !is.na(d$therapist_total), ]
formula <- paste("outcome_next ~ outcome + client_total_within + client_total_between +",
                 "therapist_total_within + therapist_total_between +",
                 "(1 + client_total_within | client_id)")
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
fit <- lmerTest::lmer(as.formula(formula), data = m, REML = TRUE, control = ctrl)
co <- summary(fit)$coefficients
out <- list(
  name = "pair_lagged_reml", data = file, formula = formula, reml = TRUE, n_obs = nrow(m),
  n_clients = length(unique(m$client_id)),
  terms = rownames(co),
  estimate = unname(co[, "Estimate"]), se = unname(co[, "Std. Error"]),
  df = unname(co[, "df"]), statistic = unname(co[, "t value"]),
  p_value = unname(co[, "Pr(>|t|)"]),
  theta = unname(getME(fit, "theta")), sigma = sigma(fit),
  loglik = as.numeric(logLik(fit)), singular = isSingular(fit),
  provenance = list(
    r_version = R.version.string, lme4 = as.character(packageVersion("lme4")),
    lmerTest = as.character(packageVersion("lmerTest")),
    call = paste0("lmerTest::lmer(", formula, ", REML = TRUE, control = ",
                  "lmerControl(optimizer = 'bobyqa', rhoend = 1e-10)); summary(fit)$coefficients"),
    script = "tests/reference/r/make_pair_lagged.R"))
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
      file.path(out_dir, "pair_lagged.json"))
print(co)
