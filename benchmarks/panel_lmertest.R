# lme4 + lmerTest on the lagged within/between model, for benchmarks/panel_satterthwaite.py.
# Usage: Rscript benchmarks/panel_lmertest.R data.csv out.json
# The same data preparation, lag pairing and lmer call as benchmarks/panel_lme4.R (REML,
# lme4's default control). Times separately the lme4 fit and lmerTest's Satterthwaite step
# (as_lmerModLmerTest: numDeriv Hessian of the deviance in (theta, sigma) and Jacobian of
# vcov(beta), then summary()), which is what lmerTest::lmer adds to lme4::lmer.
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
a <- commandArgs(TRUE)
d <- read.csv(a[1], stringsAsFactors = FALSE)
d <- d[order(d$client_id, d$session), ]
pm <- tapply(d$alliance, d$client_id, mean, na.rm = TRUE)
d$alliance_between <- as.numeric(pm[d$client_id])
d$alliance_within <- d$alliance - d$alliance_between
key <- paste(d$client_id, d$session)
nxt <- match(paste(d$client_id, d$session + 1), key)
d$outcome_next <- d$outcome[nxt]
m <- d[!is.na(d$outcome_next) & !is.na(d$outcome) & !is.na(d$alliance), ]
t0 <- proc.time()[["elapsed"]]
fit <- lme4::lmer(outcome_next ~ outcome + alliance_within + alliance_between +
                    (1 + alliance_within | client_id), data = m, REML = TRUE)
t1 <- proc.time()[["elapsed"]]
lt <- as_lmerModLmerTest(fit)
co <- summary(lt, ddf = "Satterthwaite")$coefficients
t2 <- proc.time()[["elapsed"]]
out <- list(
  n_obs = nrow(m), terms = rownames(co), estimate = unname(co[, "Estimate"]),
  se = unname(co[, "Std. Error"]), df = unname(co[, "df"]),
  statistic = unname(co[, "t value"]), p_value = unname(co[, "Pr(>|t|)"]),
  fit_seconds = t1 - t0, satterthwaite_seconds = t2 - t1,
  lmerTest = as.character(packageVersion("lmerTest")))
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), a[2])
