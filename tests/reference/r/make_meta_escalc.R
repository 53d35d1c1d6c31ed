# metafor's escalc for two-group effect sizes, Bordin's reference (issue 20).
#
# Usage (from the project root):
#   Rscript tests/reference/r/make_meta_escalc.R tests/reference/data/meta/escalc
# Writes OUTDIR/<case>.csv (the raw data, columns named as escalc's arguments: m1i, sd1i,
# n1i, m2i, sd2i, n2i or ai, bi, ci, di) and OUTDIR/<case>.json: a "provenance" block and one
# entry per measure, {"yi": [...], "vi": [...]} for every row of the CSV (null where escalc
# gives NA: a row with a missing value), and "rma": the REML model of those effect sizes
# (rma(yi, vi, method = "REML") with tight control; estimate, se, tau2, ci.lb, ci.ub, pi.lb,
# pi.ub, k). Defaults throughout: vtype = "LS", add = 1/2, to = "only0", drop00 = FALSE.
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
outdir <- commandArgs(TRUE)[1]
if (is.na(outdir)) stop("usage: Rscript make_meta_escalc.R OUTDIR")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

cont <- function(d) d[c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")]
# Hand-made: tiny groups (n1 + n2 - 2 = 2 and 3, where the exact correction differs most from
# Hedges' approximation), a negative difference, a missing SD (dropped).
tiny <- data.frame(m1i = c(10, 4.5, 2.0, 7), sd1i = c(2, 1.5, 0.5, NA), n1i = c(2, 2, 3, 10),
                   m2i = c(8, 5.5, 2.5, 6), sd2i = c(3, 1, 0.7, 2), n2i = c(2, 3, 3, 12))
curtis <- cont(dat.curtis1998)
continuous <- list(
  normand1999 = list(d = cont(dat.normand1999), data = "dat.normand1999"),
  curtis1998 = list(d = curtis, data = "dat.curtis1998"),
  gibson2002 = list(d = cont(dat.gibson2002), data = "dat.gibson2002 (some rows have no means: dropped)"),
  tinygroups = list(d = tiny, data = "hand-made"))
bin <- function(ai, bi, ci, di) data.frame(ai = ai, bi = bi, ci = ci, di = di)
binary <- list(
  bcg = list(d = with(dat.bcg, bin(tpos, tneg, cpos, cneg)), data = "dat.bcg (tpos, tneg, cpos, cneg)"),
  hine1989 = list(d = with(dat.hine1989, bin(ai, n1i - ai, ci, n2i - ci)), data = "dat.hine1989 (bi = n1i - ai, di = n2i - ci)"),
  nielweise2007 = list(d = with(dat.nielweise2007, bin(ai, n1i - ai, ci, n2i - ci)), data = "dat.nielweise2007 (zero cells)"),
  collins1985a = list(d = with(dat.collins1985a, bin(d.xti, nti - d.xti, d.xci, nci - d.xci)),
                      data = "dat.collins1985a deaths (d.xti of nti, d.xci of nci; zero cells, missing counts)"),
  yusuf1985 = list(d = with(dat.yusuf1985, bin(ai, n1i - ai, ci, n2i - ci)), data = "dat.yusuf1985 (k = 130, zero cells)"),
  doublezero = list(d = bin(c(0, 3, 0, 5), c(20, 17, 15, 0), c(0, 0, 4, 2), c(25, 22, 11, 8)),
                    data = "hand-made: a double-zero study (kept, drop00 = FALSE), single zeros, a zero non-event cell"))
prov <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             jsonlite = as.character(packageVersion("jsonlite")),
             script = "tests/reference/r/make_meta_escalc.R")
one <- function(measure, d) {
  es <- if (measure %in% c("SMD", "MD", "ROM")) {
    escalc(measure = measure, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = d)
  } else {
    escalc(measure = measure, ai = ai, bi = bi, ci = ci, di = di, data = d)
  }
  res <- rma(yi, vi, data = es, method = "REML", control = list(threshold = 1e-12, maxiter = 10000, tol = 1e-12))
  pr <- predict(res)
  list(yi = as.numeric(es$yi), vi = as.numeric(es$vi),
       rma = list(estimate = as.numeric(res$b), se = res$se, tau2 = res$tau2, ci.lb = res$ci.lb,
                  ci.ub = res$ci.ub, pi.lb = pr$pi.lb, pi.ub = pr$pi.ub, k = res$k))
}
write_case <- function(nm, s, measures, call) {
  write.csv(s$d, file.path(outdir, paste0(nm, ".csv")), row.names = FALSE, na = "")
  out <- list(provenance = c(prov, list(data = s$data, call = call)))
  for (m in measures) out[[m]] <- one(m, s$d)
  write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
        file.path(outdir, paste0(nm, ".json")))
  cat(nm, nrow(s$d), "\n")
}
for (nm in names(continuous)) {
  write_case(nm, continuous[[nm]], c("SMD", "MD", "ROM"),
             "escalc(measure = M, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = d) for M in SMD, MD, ROM")
}
for (nm in names(binary)) {
  write_case(nm, binary[[nm]], c("RR", "OR"),
             "escalc(measure = M, ai = ai, bi = bi, ci = ci, di = di, data = d) for M in RR, OR (add = 1/2, to = \"only0\")")
}
