# Reference outputs for the report analyses (issue 8): moderation, OLS with robust standard
# errors, and the random-intercept mixed model of the early-alliance analysis.
#
# Run from the repository root:  Rscript tests/reference/r/make_report_references.R
# Needs: R >= 4.2, sandwich, lme4, jsonlite (Debian: r-cran-sandwich r-cran-lme4
# r-cran-jsonlite). Writes tests/reference/data/report/*.json (and the simulated
# early_alliance_clients.csv). Numbers are written with 17 significant digits.

suppressPackageStartupMessages({
  library(sandwich)
  library(lme4)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "data", "report")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

provenance <- function(call) {
  list(
    r_version = R.version.string,
    sandwich = as.character(packageVersion("sandwich")),
    lme4 = as.character(packageVersion("lme4")),
    jsonlite = as.character(packageVersion("jsonlite")),
    call = call,
    script = "tests/reference/r/make_report_references.R"
  )
}

write_ref <- function(x, name) {
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
             file.path(out_dir, name))
}

# ---- mtcars, copied to the project as CSV so the tests never need R --------------------
cars <- read.csv(file.path(out_dir, "mtcars.csv"))
stopifnot(isTRUE(all.equal(cars$mpg, mtcars$mpg)), isTRUE(all.equal(cars$wt, mtcars$wt)))

# ---- Moderation: lm(mpg ~ hp * wt) ----------------------------------------------------------
fit <- lm(mpg ~ hp * wt, data = cars)
level <- 0.95
df <- fit$df.residual
crit <- qt(1 - (1 - level) / 2, df)

probe <- function(V) {
  b <- coef(fit)
  se <- sqrt(diag(V))
  tval <- b / se
  coefs <- lapply(names(b), function(nm) list(
    term = nm, estimate = unname(b[nm]), se = unname(se[nm]),
    ci_low = unname(b[nm] - crit * se[nm]), ci_high = unname(b[nm] + crit * se[nm]),
    statistic = unname(tval[nm]), p_value = unname(2 * pt(abs(tval[nm]), df, lower.tail = FALSE))
  ))
  m <- cars$wt
  at <- c(mean(m) - sd(m), mean(m), mean(m) + sd(m), 4.5)
  slopes <- lapply(at, function(w) {
    est <- unname(b["hp"] + b["hp:wt"] * w)
    s <- sqrt(V["hp", "hp"] + 2 * w * V["hp", "hp:wt"] + w^2 * V["hp:wt", "hp:wt"])
    list(moderator_value = w, estimate = est, se = unname(s),
         ci_low = est - crit * s, ci_high = est + crit * s,
         statistic = est / s, p_value = 2 * pt(abs(est / s), df, lower.tail = FALSE))
  })
  # Johnson-Neyman bounds: roots of (b1 + b3 m)^2 = t^2 Var(b1 + b3 m).
  a <- b["hp:wt"]^2 - crit^2 * V["hp:wt", "hp:wt"]
  bb <- b["hp"] * b["hp:wt"] - crit^2 * V["hp", "hp:wt"]
  cc <- b["hp"]^2 - crit^2 * V["hp", "hp"]
  roots <- sort(c((-bb - sqrt(bb^2 - a * cc)) / a, (-bb + sqrt(bb^2 - a * cc)) / a))
  list(coefficients = coefs, vcov = unname(V), simple_slopes = slopes,
       johnson_neyman = list(lower = unname(roots[1]), upper = unname(roots[2]),
                             kind = if (a > 0) "outside" else "inside",
                             critical_value = crit))
}

write_ref(list(
  provenance = provenance("lm(mpg ~ hp * wt, data = mtcars); vcov(fit) and sandwich::vcovHC(fit, type = 'HC3'); simple slopes at mean(wt) -+ sd(wt), mean and 4.5; Johnson-Neyman closed form, level 0.95"),
  n = nrow(cars), df_resid = df, r_squared = summary(fit)$r.squared,
  moderator_mean = mean(cars$wt), moderator_sd = sd(cars$wt),
  classic = probe(vcov(fit)),
  HC3 = probe(vcovHC(fit, type = "HC3"))
), "moderation_mtcars.json")

# ---- OLS with every HC type: lm(mpg ~ hp + wt + qsec) -----------------------------------
fit2 <- lm(mpg ~ hp + wt + qsec, data = cars)
hc <- lapply(c("HC0", "HC1", "HC2", "HC3"), function(ty) unname(vcovHC(fit2, type = ty)))
names(hc) <- c("HC0", "HC1", "HC2", "HC3")
write_ref(list(
  provenance = provenance("lm(mpg ~ hp + wt + qsec, data = mtcars); vcov(fit); sandwich::vcovHC(fit, type = T) for T in HC0..HC3"),
  terms = names(coef(fit2)), coef = unname(coef(fit2)), classic = unname(vcov(fit2)),
  sigma = summary(fit2)$sigma, r_squared = summary(fit2)$r.squared,
  HC0 = hc$HC0, HC1 = hc$HC1, HC2 = hc$HC2, HC3 = hc$HC3
), "ols_hc_mtcars.json")

# ---- Early alliance: per-client data, random intercept for therapist ---------------------
set.seed(20180801)
n_ther <- 25
sizes <- sample(3:14, n_ther, replace = TRUE)
therapist <- rep(sprintf("T%02d", seq_len(n_ther)), sizes)
u <- rnorm(n_ther, 0, 1.2)[match(therapist, sprintf("T%02d", seq_len(n_ther)))]
n <- length(therapist)
intake <- round(rnorm(n, 15, 4), 1)
early <- round(rnorm(n, 4.2, 0.8), 3)
change <- -2 - 1.5 * (early - 4.2) - 0.35 * (intake - 15) + u + rnorm(n, 0, 3.5)
clients <- data.frame(client_id = sprintf("C%03d", seq_len(n)), therapist_id = therapist,
                      intake = intake, early_alliance = early, change = round(change, 4))
write.csv(clients, file.path(out_dir, "early_alliance_clients.csv"), row.names = FALSE)
clients <- read.csv(file.path(out_dir, "early_alliance_clients.csv"))

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-10))
lmm_ref <- function(reml) {
  m <- lmer(change ~ early_alliance + intake + (1 | therapist_id), data = clients,
            REML = reml, control = ctrl)
  vc <- as.data.frame(VarCorr(m))
  list(terms = names(fixef(m)), coef = unname(fixef(m)), vcov = unname(as.matrix(vcov(m))),
       tau2 = vc$vcov[vc$grp == "therapist_id"], sigma2 = vc$vcov[vc$grp == "Residual"],
       theta = unname(getME(m, "theta")),
       deviance = if (reml) unname(REMLcrit(m)) else unname(deviance(m)),
       loglik = as.numeric(logLik(m)))
}
ols_early <- lm(change ~ early_alliance + intake, data = clients)
write_ref(list(
  provenance = provenance("lmer(change ~ early_alliance + intake + (1 | therapist_id), REML = TRUE/FALSE, control = lmerControl(optimizer = 'bobyqa', optCtrl = list(rhobeg = 0.2, rhoend = 1e-10))); lm(change ~ early_alliance + intake) with sandwich::vcovHC(type = 'HC3')"),
  n = nrow(clients), n_groups = length(unique(clients$therapist_id)),
  reml = lmm_ref(TRUE), ml = lmm_ref(FALSE),
  ols = list(terms = names(coef(ols_early)), coef = unname(coef(ols_early)),
             HC3 = unname(vcovHC(ols_early, type = "HC3")))
), "early_alliance_lmm.json")

cat("wrote", out_dir, "\n")

# ---- Wilson score intervals: prop.test(x, n, correct = FALSE) ----------------------------
cases <- list(c(0, 10), c(1, 2), c(7, 40), c(233, 1000), c(50, 50), c(3, 7))
wilson <- lapply(cases, function(xn) {
  ci <- prop.test(xn[1], xn[2], correct = FALSE, conf.level = 0.95)$conf.int
  list(count = xn[1], n = xn[2], level = 0.95, ci_low = ci[1], ci_high = ci[2])
})
write_ref(list(
  provenance = provenance("prop.test(x, n, correct = FALSE, conf.level = 0.95)$conf.int"),
  cases = wilson
), "wilson.json")

# ---- Therapist correlations pooled on Fisher z, with BLUPs (metafor) ----------------------
suppressPackageStartupMessages(library(metafor))
set.seed(2018)
k <- 14
ni <- sample(6:30, k, replace = TRUE)
ri <- round(tanh(rnorm(k, atanh(0.28), 0.15) + rnorm(k, 0, 1 / sqrt(ni - 3))), 4)
dat <- escalc(measure = "ZCOR", ri = ri, ni = ni)
res <- rma(yi, vi, data = dat, method = "REML",
           control = list(threshold = 1e-12, maxiter = 1000))
bl <- blup(res)
pr <- predict(res)
write_ref(list(
  provenance = c(provenance("escalc('ZCOR', ri, ni); rma(yi, vi, method = 'REML', control = list(threshold = 1e-12, maxiter = 1000)); blup(res); predict(res)"),
                 metafor = as.character(packageVersion("metafor"))),
  ri = ri, ni = ni, yi = as.numeric(dat$yi), vi = as.numeric(dat$vi),
  estimate = as.numeric(res$b), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
  pi_low = pr$pi.lb, pi_high = pr$pi.ub, tau2 = res$tau2, i2 = res$I2, q = res$QE,
  blup = as.numeric(bl$pred), blup_se = as.numeric(bl$se),
  blup_ci_low = as.numeric(bl$pi.lb), blup_ci_high = as.numeric(bl$pi.ub)
), "therapist_blup.json")

# ---- Session-level moderation with client fixed effects and cluster-robust SEs -----------
set.seed(2015)
n_cl <- 40
panel <- do.call(rbind, lapply(seq_len(n_cl), function(i) {
  t <- seq_len(sample(4:9, 1))
  a <- rnorm(1, 3.9, 0.5) + rnorm(length(t), 0, 0.3)
  p <- plogis(rnorm(1, 0.8, 0.5) + rnorm(length(t), 0, 0.4))
  y <- rnorm(1, 12, 4) - 0.5 * t - 3 * (p - 0.7) * (a - 3.9) + rnorm(length(t), 0, 1.5)
  data.frame(client_id = sprintf("c%02d", i), session = t, alliance = round(a, 4),
             adherence = round(p, 4), outcome = round(y, 4))
}))
write.csv(panel, file.path(out_dir, "moderation_panel.csv"), row.names = FALSE)
panel <- read.csv(file.path(out_dir, "moderation_panel.csv"))
fe <- lm(outcome ~ adherence * alliance + session + factor(client_id), data = panel)
pooled <- lm(outcome ~ adherence * alliance + session, data = panel)
keep <- c("adherence", "alliance", "session", "adherence:alliance")
write_ref(list(
  provenance = provenance("fe <- lm(outcome ~ adherence * alliance + session + factor(client_id)); pooled <- lm(outcome ~ adherence * alliance + session); sandwich::vcovCL(fit, cluster = ~client_id, type = 'HC1')"),
  fixed_effects = list(terms = keep, coef = unname(coef(fe)[keep]),
                       CR1 = unname(vcovCL(fe, cluster = ~client_id, type = "HC1")[keep, keep]),
                       classic = unname(vcov(fe)[keep, keep]), df_resid = fe$df.residual),
  pooled = list(terms = names(coef(pooled)), coef = unname(coef(pooled)),
                CR1 = unname(vcovCL(pooled, cluster = ~client_id, type = "HC1")),
                df_resid = pooled$df.residual)
), "moderation_panel.json")
