# metafor's meta-regression (rma with several moderators) and predict(newmods), Bordin's
# reference (issue 20).
#
# Usage (from the project root):
#   Rscript tests/reference/r/make_meta_regression.R tests/reference/data/meta/regression
# Writes OUTDIR/<case>.csv (yi, vi and the moderators) and OUTDIR/<case>.json: a provenance
# block, the formula, the new moderator values for predict(), and one entry per
# <METHOD>_<TEST> with metafor's names: b, se, zval, pval, ci.lb, ci.ub (keyed by term),
# vb, tau2, se.tau2, I2, H2, QE, QEp, QM, QMp, QMdf, R2, k, p, and pred (predict(res,
# newmods = X.new): pred, se, ci.lb, ci.ub, pi.lb, pi.ub). Character columns are factors
# (levels in sorted order); factor(x) in a formula names its terms "factor(x)level".
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
outdir <- commandArgs(TRUE)[1]
if (is.na(outdir)) stop("usage: Rscript make_meta_regression.R OUTDIR")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
Sys.setlocale("LC_COLLATE", "C")

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg <- data.frame(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi), ablat = bcg$ablat,
                  year = bcg$year, alloc = bcg$alloc, stringsAsFactors = FALSE)
bd <- dat.bangertdrowns2004
bd <- data.frame(yi = as.numeric(bd$yi), vi = as.numeric(bd$vi), length = bd$length, grade = bd$grade,
                 meta = bd$meta, feedback = bd$feedback, stringsAsFactors = FALSE)
cu <- escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = dat.curtis1998)
cu <- data.frame(yi = as.numeric(cu$yi), vi = as.numeric(cu$vi), time = cu$time, co2.elev = cu$co2.elev,
                 fungrp = cu$fungrp, stringsAsFactors = FALSE)
cases <- list(
  bcg = list(d = bcg, formula = "~ ablat + year + alloc",
             data = "dat.bcg, escalc(measure = \"RR\", ai = tpos, bi = tneg, ci = cpos, di = cneg)",
             newmods = data.frame(ablat = c(10, 30, 50, 33), year = c(1950, 1960, 1970, 1965),
                                  alloc = c("alternate", "random", "systematic", "random"))),
  bcg_ablat = list(d = bcg, formula = "~ ablat", data = "dat.bcg (log RR), one continuous moderator",
                   newmods = data.frame(ablat = c(0, 20, 40, 60))),
  bangertdrowns2004 = list(d = bd, formula = "~ length + factor(grade) + meta + feedback",
                           data = "dat.bangertdrowns2004 (yi, vi as given; missing feedback: dropped)",
                           newmods = data.frame(length = c(5, 15, 30), grade = c(1, 3, 4),
                                                meta = c(0, 1, 1), feedback = c(1, 0, 1))),
  curtis1998 = list(d = cu, formula = "~ time + co2.elev + fungrp",
                    data = "dat.curtis1998, escalc(measure = \"ROM\", m1i, sd1i, n1i, m2i, sd2i, n2i)",
                    newmods = data.frame(time = c(30, 100), co2.elev = c(600, 700),
                                         fungrp = c("ANGIO", "N2FIX"))))
prov <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             jsonlite = as.character(packageVersion("jsonlite")),
             script = "tests/reference/r/make_meta_regression.R",
             calls = c("res <- rma(yi, vi, mods = FORMULA, data = d, method = METHOD, test = TEST, control = list(threshold = 1e-12, maxiter = 10000, tol = 1e-12))",
                       "X.new <- model.matrix(FORMULA, model.frame(terms(FORMULA), newmods, xlev = levels of d))[, -1]",
                       "predict(res, newmods = X.new)"))
named <- function(x, terms) setNames(as.list(as.numeric(x)), terms)
for (nm in names(cases)) {
  s <- cases[[nm]]; d <- s$d; f <- as.formula(s$formula)
  # yi and vi with 17 significant digits: the CSV round-trips the doubles R fitted exactly.
  d.out <- d; d.out$yi <- sprintf("%.17g", d$yi); d.out$vi <- sprintf("%.17g", d$vi)
  write.csv(d.out, file.path(outdir, paste0(nm, ".csv")), row.names = FALSE, na = "")
  mf <- model.frame(f, d)
  tt <- terms(mf)
  X.new <- model.matrix(tt, model.frame(tt, s$newmods, xlev = .getXlevels(tt, mf)))[, -1, drop = FALSE]
  out <- list(provenance = c(prov, list(data = s$data)), formula = s$formula, newmods = s$newmods)
  for (method in c("REML", "ML", "DL", "PM", "HE", "SJ", "FE")) {
    for (test in c("z", "knha")) {
      if (method == "FE" && test == "knha") next
      res <- rma(yi, vi, mods = f, data = d, method = method, test = test, control = ctrl)
      terms <- rownames(res$b)
      pr <- predict(res, newmods = X.new)
      out[[paste(method, test, sep = "_")]] <- list(
        b = named(res$b, terms), se = named(res$se, terms), zval = named(res$zval, terms),
        pval = named(res$pval, terms), ci.lb = named(res$ci.lb, terms), ci.ub = named(res$ci.ub, terms),
        vb = unname(lapply(seq_len(nrow(res$vb)), function(i) as.numeric(res$vb[i, ]))),
        tau2 = res$tau2, se.tau2 = if (method == "FE") NULL else res$se.tau2,
        I2 = res$I2, H2 = res$H2, QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp,
        QMdf = as.list(res$QMdf), R2 = res$R2, k = res$k, p = res$p,
        pred = list(pred = as.numeric(pr$pred), se = as.numeric(pr$se), ci.lb = as.numeric(pr$ci.lb),
                    ci.ub = as.numeric(pr$ci.ub), pi.lb = as.numeric(pr$pi.lb), pi.ub = as.numeric(pr$pi.ub)))
    }
  }
  write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null", dataframe = "rows"),
        file.path(outdir, paste0(nm, ".json")))
  cat(nm, nrow(d), "\n")
}
