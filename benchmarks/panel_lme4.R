# lme4's fit of the lagged within/between model on a panel CSV, for benchmarks/panel.py.
# Usage: Rscript benchmarks/panel_lme4.R data.csv out.json
# The same data preparation, lag pairing and lmer call as tests/reference/r/ref_panel.R
# (REML, lme4's default control); the timing includes R's start, reading and the fit, as the
# Bordin side does.
suppressMessages({library(lme4); library(jsonlite)})
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
fit <- lmer(outcome_next ~ outcome + alliance_within + alliance_between +
              (1 + alliance_within | client_id), data = m, REML = TRUE)
el <- proc.time()[["elapsed"]] - t0
vc <- as.data.frame(VarCorr(fit))
fe <- fixef(fit); se <- sqrt(diag(as.matrix(vcov(fit))))
out <- list(
  n_obs = nrow(m), n_clients = length(unique(m$client_id)), reml = TRUE,
  fixed = as.list(fe), se = setNames(as.list(se), names(fe)),
  sd_intercept = vc$sdcor[1], sd_slope = vc$sdcor[2], corr = vc$sdcor[3],
  sd_residual = vc$sdcor[4], loglik = as.numeric(logLik(fit)), fit_seconds = el)
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), a[2])
