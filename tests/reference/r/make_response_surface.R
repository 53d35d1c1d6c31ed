# Polynomial regression with response surface analysis (issue 18): client-therapist
# congruence and outcome. Usage (from the repository root):
#   Rscript tests/reference/r/make_response_surface.R tests/reference/data/response_surface
# Simulates two seeded data sets (written as CSV and read back, so the references are computed
# on exactly the committed numbers), fits
#   lm(outcome ~ x + y + I(x^2) + I(x * y) + I(y^2))
# and computes the surface parameters along the congruence line (x = y) and the incongruence
# line (x = -y) from the coefficients and their covariance (Shanock et al., 2010; the RSA
# package's a1-a5, Schoenbrodt & Humberg): a1 = b1 + b2, a2 = b3 + b4 + b5, a3 = b1 - b2,
# a4 = b3 - b4 + b5, a5 = b3 - b5, each with se = sqrt(l' V l), t on the residual df and a
# t interval. Covariances: classic (vcov) and HC3 (sandwich::vcovHC). Variants: raw
# predictors, and both predictors centred on their pooled mean.
suppressMessages({library(jsonlite); library(sandwich)})
out_dir <- commandArgs(TRUE)[1]
dir.create(out_dir, showWarnings = FALSE)

simulate <- function(n, seed, b) {
  set.seed(seed)
  common <- rnorm(n, 0, 0.8)
  x <- round(4.5 + common + rnorm(n, 0, 0.6), 3)   # client's bond rating (1-7 scale)
  y <- round(4.2 + 0.7 * common + rnorm(n, 0, 0.7), 3)  # therapist's rating of the bond
  xc <- x - 4.35; yc <- y - 4.35
  z <- b[1] + b[2] * xc + b[3] * yc + b[4] * xc^2 + b[5] * xc * yc + b[6] * yc^2 + rnorm(n, 0, 2)
  data.frame(client_bond = x, therapist_bond = y, outcome = round(z, 4))
}
write.csv(simulate(300, 20181, c(10, -1.2, -0.8, 0.3, -0.6, 0.3)),
          file.path(out_dir, "congruence_a.csv"), row.names = FALSE)
write.csv(simulate(120, 20182, c(12, -0.5, 0.4, 0.5, -0.2, -0.1)),
          file.path(out_dir, "congruence_b.csv"), row.names = FALSE)

L <- rbind(a1 = c(0, 1, 1, 0, 0, 0), a2 = c(0, 0, 0, 1, 1, 1), a3 = c(0, 1, -1, 0, 0, 0),
           a4 = c(0, 0, 0, 1, -1, 1), a5 = c(0, 0, 0, 1, 0, -1))

rsa_case <- function(file, center, cov_type, level = 0.95) {
  d <- read.csv(file.path(out_dir, file))
  x <- d$client_bond; y <- d$therapist_bond
  c0 <- if (center) mean(c(x, y)) else 0
  x <- x - c0; y <- y - c0
  fit <- lm(d$outcome ~ x + y + I(x^2) + I(x * y) + I(y^2))
  V <- if (cov_type == "HC3") vcovHC(fit, type = "HC3") else vcov(fit)
  b <- unname(coef(fit)); dfr <- fit$df.residual
  crit <- qt(0.5 + level / 2, dfr)
  est <- drop(L %*% b); se <- sqrt(diag(L %*% V %*% t(L)))
  tval <- est / se
  list(
    data = file, center = center, center_value = c0, cov_type = cov_type, level = level,
    n = nrow(d), df_resid = dfr, r_squared = summary(fit)$r.squared,
    coef = b, coef_se = unname(sqrt(diag(V))), vcov = unname(V),
    surface = list(terms = rownames(L), estimate = unname(est), se = unname(se),
                   statistic = unname(tval), p_value = unname(2 * pt(-abs(tval), dfr)),
                   ci_low = unname(est - crit * se), ci_high = unname(est + crit * se)),
    provenance = list(
      r_version = R.version.string, sandwich = as.character(packageVersion("sandwich")),
      call = paste0("lm(outcome ~ x + y + I(x^2) + I(x * y) + I(y^2)) on ", file,
                    if (center) " with x, y centred on their pooled mean" else "",
                    "; V = ", if (cov_type == "HC3") "sandwich::vcovHC(fit, type = 'HC3')"
                    else "vcov(fit)", "; a = L b, se = sqrt(diag(L V L'))"),
      script = "tests/reference/r/make_response_surface.R"))
}
cases <- list(
  rsa_case("congruence_a.csv", FALSE, "classic"),
  rsa_case("congruence_a.csv", TRUE, "classic"),
  rsa_case("congruence_a.csv", FALSE, "HC3"),
  rsa_case("congruence_b.csv", TRUE, "classic"),
  rsa_case("congruence_b.csv", TRUE, "HC3")
)
write(toJSON(cases, auto_unbox = TRUE, digits = NA, pretty = TRUE),
      file.path(out_dir, "response_surface_cases.json"))
for (cs in cases) cat(cs$data, cs$center, cs$cov_type, signif(cs$surface$estimate, 4), "\n")
