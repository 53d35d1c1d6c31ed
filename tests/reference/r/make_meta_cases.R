# Bordin's own metafor reference cases for the meta-analysis of correlations (issue 4).
#
# Usage (from the project root):
#   Rscript tests/reference/r/make_meta_cases.R tests/reference/data/meta/cases
# Writes OUTDIR/<case>.csv (study, n, r [, moderator]) and OUTDIR/<case>.json. Each JSON holds
# a "provenance" block (R, metafor, metadat and jsonlite versions, the calls) and one entry per
# model, keyed <MEASURE>_<METHOD>_<TEST>, with the same keys as the shared reference
# (ref_meta.R) plus the diagnostics for every method and test, and
# <MEASURE>_<METHOD>_<TEST>_mods_<moderator> for meta-regressions, and
# <MEASURE>_REML_<TEST>_level90 for 90% intervals.
# Every fit uses tight convergence control; trimfill() ignores it by design (metafor uses
# its defaults for the inner fits), which Bordin mirrors.
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
outdir <- commandArgs(TRUE)[1]
if (is.na(outdir)) stop("usage: Rscript make_meta_cases.R OUTDIR")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

# Small hand-made cases (no randomness): three studies; two studies; a homogeneous set whose
# Q is below its df (tau^2 = 0 for every estimator, Q-profile interval [0, 0]); a set with
# large studies showing bigger effects (asymmetry on the right).
tiny3 <- data.frame(study = 1:3, n = c(40L, 85L, 120L), r = c(0.12, 0.31, 0.25))
two <- data.frame(study = 1:2, n = c(60L, 150L), r = c(0.35, 0.18))
homog <- data.frame(study = 1:8, n = c(50L, 80L, 120L, 65L, 200L, 90L, 150L, 75L),
                    r = c(0.25, 0.27, 0.26, 0.24, 0.26, 0.25, 0.27, 0.26))
rightskew <- data.frame(study = 1:12, n = c(20L, 25L, 30L, 35L, 45L, 60L, 80L, 100L, 150L, 220L, 400L, 800L),
                        r = c(0.05, -0.10, 0.12, 0.02, 0.15, 0.18, 0.22, 0.25, 0.30, 0.33, 0.36, 0.38))
# ML's Fisher scoring converges to a local maximum; metafor's ll0check warns and sets
# tau^2 = 0 (REML is unaffected).
localmax <- data.frame(study = 1:3, n = c(4L, 4L, 22L), r = c(0, -0.937, 0.625))
fromdat <- function(d, mods = character(0), study = NULL) {
  out <- data.frame(study = if (is.null(study)) seq_len(nrow(d)) else d[[study]], n = d$ni, r = d$ri,
                    d[mods], stringsAsFactors = FALSE)
  out[!is.na(out$r) & !is.na(out$n), ]
}
sets <- list(
  cohen1981 = list(d = fromdat(dat.cohen1981, study = "study"), mods = character(0), call = "dat.cohen1981"),
  craft2003 = list(d = fromdat(dat.craft2003, "sport"), mods = "sport", call = "dat.craft2003"),
  crede2010 = list(d = fromdat(dat.crede2010, "class"), mods = "class", call = "dat.crede2010"),
  tiny3 = list(d = tiny3, mods = character(0), call = "hand-made"),
  two = list(d = two, mods = character(0), call = "hand-made"),
  homogeneous = list(d = homog, mods = character(0), call = "hand-made"),
  rightskew = list(d = rightskew, mods = character(0), call = "hand-made"),
  localmax = list(d = localmax, mods = character(0), call = "hand-made"))

fitout <- function(res) {
  pr <- predict(res)
  list(estimate = as.numeric(res$b), se = res$se, stat = as.numeric(res$zval), pval = res$pval,
       ci_lb = res$ci.lb, ci_ub = res$ci.ub, tau2 = res$tau2, se_tau2 = res$se.tau2,
       I2 = res$I2, H2 = res$H2, Q = res$QE, Q_pval = res$QEp, k = res$k,
       pi_lb = as.numeric(pr$pi.lb), pi_ub = as.numeric(pr$pi.ub))
}
prov <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             jsonlite = as.character(packageVersion("jsonlite")),
             script = "tests/reference/r/make_meta_cases.R",
             calls = c("es <- escalc(measure = M, ri = r, ni = n, data = d)",
                       "res <- rma(yi, vi, data = es, method = METHOD, test = TEST, control = list(threshold = 1e-12, maxiter = 10000, tol = 1e-12))",
                       "confint(res, control = list(tol = 1e-12)); regtest(res); trimfill(res); leave1out(res)",
                       "rma(yi, vi, mods = ~ factor(MOD), data = es, method = METHOD, test = TEST, control = <same>)"))
for (nm in names(sets)) {
  s <- sets[[nm]]; d <- s$d
  write.csv(d, file.path(outdir, paste0(nm, ".csv")), row.names = FALSE)
  out <- list(provenance = c(prov, list(data = s$call)))
  for (measure in c("ZCOR", "COR")) {
    es <- escalc(measure = measure, ri = r, ni = n, data = d)
    for (method in c("REML", "DL", "PM", "ML", "HE", "SJ", "FE")) {
      for (test in c("z", "knha")) {
        if (method == "FE" && test == "knha") next
        res <- tryCatch(rma(yi, vi, data = es, method = method, test = test, control = ctrl),
                        error = function(e) NULL)
        if (is.null(res)) next
        o <- fitout(res)
        if (method != "FE") {
          ci <- confint(res, control = list(tol = 1e-12))
          o$tau2_ci_lb <- ci$random["tau^2", "ci.lb"]; o$tau2_ci_ub <- ci$random["tau^2", "ci.ub"]
          o$I2_ci_lb <- ci$random["I^2(%)", "ci.lb"]; o$I2_ci_ub <- ci$random["I^2(%)", "ci.ub"]
        }
        if (res$k >= 3) {
          eg <- regtest(res); o$egger_stat <- eg$zval; o$egger_pval <- eg$pval
          tf <- trimfill(res); o$trimfill_k0 <- tf$k0; o$trimfill_side <- tf$side
          o$trimfill_estimate <- as.numeric(tf$b)
          l1 <- leave1out(res); o$leave1out_estimate <- as.numeric(l1$estimate)
        }
        out[[paste(measure, method, test, sep = "_")]] <- o
      }
    }
    # A 90% level: intervals, prediction interval and Q-profile limits all follow `level`.
    for (test in c("z", "knha")) {
      res <- rma(yi, vi, data = es, method = "REML", test = test, level = 90, control = ctrl)
      o <- fitout(res)
      ci <- confint(res, control = list(tol = 1e-12))
      o$tau2_ci_lb <- ci$random["tau^2", "ci.lb"]; o$tau2_ci_ub <- ci$random["tau^2", "ci.ub"]
      o$I2_ci_lb <- ci$random["I^2(%)", "ci.lb"]; o$I2_ci_ub <- ci$random["I^2(%)", "ci.ub"]
      out[[paste(measure, "REML", test, "level90", sep = "_")]] <- o
    }
    for (mod in s$mods) {
      for (method in c("REML", "DL", "ML")) {
        for (test in c("z", "knha")) {
          res <- rma(yi, vi, mods = as.formula(paste0("~ factor(", mod, ")")), data = es,
                     method = method, test = test, control = ctrl)
          terms <- sub(paste0("^factor\\(", mod, "\\)"), mod, rownames(res$b))
          out[[paste(measure, method, test, "mods", mod, sep = "_")]] <- list(
            coef = setNames(as.list(as.numeric(res$b)), terms), se = as.list(res$se),
            QM = res$QM, QM_pval = res$QMp, QE = res$QE, tau2 = res$tau2, R2 = res$R2, k = res$k)
        }
      }
    }
  }
  write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
        file.path(outdir, paste0(nm, ".json")))
  cat(nm, nrow(d), "\n")
}
