# Bordin's metafor/clubSandwich reference cases for three-level meta-analysis (issue 20).
#
# Usage (from the project root):
#   Rscript tests/reference/r/make_multilevel_cases.R tests/reference/data/meta/multilevel
# Writes OUTDIR/<dataset>.csv (the cluster and effect identifiers, yi, vi and moderators) and
# OUTDIR/<dataset>.json: a "provenance" block (R and package versions, the calls), a "data"
# block (which columns are the cluster, the effect and the moderators) and one entry per model,
# keyed <METHOD>_<TEST> (intercept only) and <METHOD>_<TEST>_mods, each with what rma.mv
# reports (metafor's names), the profile-likelihood limits of both variance components from
# confint(), and robust(res, cluster = <cluster>, clubSandwich = TRUE).
# rma.mv runs with metafor's default optimiser settings (nlminb); tighter settings change the
# estimates by less than 1e-7 relative on these data (checked when the script was written).
suppressMessages({library(metafor); library(metadat); library(clubSandwich); library(jsonlite)})
outdir <- commandArgs(TRUE)[1]
if (is.na(outdir)) stop("usage: Rscript make_multilevel_cases.R OUTDIR")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

bornmann <- escalc(measure = "OR", ai = waward, n1i = wtotal, ci = maward, n2i = mtotal,
                   data = dat.bornmann2007)
sets <- list(
  konstantopoulos2011 = list(
    d = data.frame(district = dat.konstantopoulos2011$district, school = dat.konstantopoulos2011$school,
                   yi = dat.konstantopoulos2011$yi, vi = dat.konstantopoulos2011$vi,
                   year = dat.konstantopoulos2011$year),
    cluster = "district", effect = "school", mods = "year",
    source = "dat.konstantopoulos2011"),
  assink2016 = list(
    d = data.frame(study = dat.assink2016$study, esid = dat.assink2016$esid, yi = dat.assink2016$yi,
                   vi = dat.assink2016$vi, pubstatus = dat.assink2016$pubstatus,
                   year = dat.assink2016$year, deltype = dat.assink2016$deltype,
                   stringsAsFactors = FALSE),
    cluster = "study", effect = "esid", mods = c("pubstatus", "year", "deltype"),
    source = "dat.assink2016"),
  bornmann2007 = list(
    d = data.frame(study = bornmann$study, obs = bornmann$obs, yi = as.numeric(bornmann$yi),
                   vi = as.numeric(bornmann$vi), type = bornmann$type, year = bornmann$year,
                   stringsAsFactors = FALSE),
    cluster = "study", effect = "obs", mods = c("type", "year"),
    source = paste("escalc(measure = \"OR\", ai = waward, n1i = wtotal, ci = maward,",
                   "n2i = mtotal, data = dat.bornmann2007)")))

num <- function(x) as.numeric(x)
fitout <- function(res) {
  fs <- fitstats(res)
  list(sigma2 = num(res$sigma2), s.nlevels = res$s.nlevels, s.names = res$s.names,
       beta = setNames(as.list(num(res$beta)), rownames(res$beta)), se = num(res$se),
       zval = num(res$zval), pval = num(res$pval), ci.lb = num(res$ci.lb), ci.ub = num(res$ci.ub),
       dfs = if (res$test == "t") num(res$ddf) else NULL,
       QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp, QMdf = num(res$QMdf),
       k = res$k, p = res$p,
       logLik = num(fs["logLik:", 1]), deviance = num(fs["deviance:", 1]), AIC = num(fs["AIC:", 1]),
       BIC = num(fs["BIC:", 1]), AICc = num(fs["AICc:", 1]))
}
ciout <- function(res) {
  out <- list()
  for (j in 1:2) {
    ci <- confint(res, sigma2 = j, control = list(tol = 1e-12))
    out[[j]] <- list(estimate = num(ci$random[1, "estimate"]), ci.lb = num(ci$random[1, "ci.lb"]),
                     ci.ub = num(ci$random[1, "ci.ub"]))
  }
  list(sigma2.1 = out[[1]], sigma2.2 = out[[2]])
}
robout <- function(res, cluster) {
  rob <- robust(res, cluster = cluster, clubSandwich = TRUE)
  list(beta = num(rob$beta), se = num(rob$se), tval = num(rob$zval), dfs = num(rob$dfs),
       pval = num(rob$pval), ci.lb = num(rob$ci.lb), ci.ub = num(rob$ci.ub), QM = num(rob$QM),
       QMdf = num(rob$QMdf), QMp = num(rob$QMp), n = rob$n, vb = matrix(as.numeric(rob$vb), nrow = nrow(rob$vb)))
}

for (nm in names(sets)) {
  s <- sets[[nm]]
  d <- s$d
  write.csv(d, file.path(outdir, paste0(nm, ".csv")), row.names = FALSE)
  randf <- as.formula(paste("~ 1 |", s$cluster, "/", s$effect))
  modf <- as.formula(paste("~", paste(s$mods, collapse = " + ")))
  out <- list(
    provenance = list(
      R = R.version.string, metafor = as.character(packageVersion("metafor")),
      metadat = as.character(packageVersion("metadat")),
      clubSandwich = as.character(packageVersion("clubSandwich")),
      jsonlite = as.character(packageVersion("jsonlite")),
      script = "tests/reference/r/make_multilevel_cases.R", source = s$source,
      calls = c(sprintf("res <- rma.mv(yi, vi, random = ~ 1 | %s/%s, data = d, method = METHOD, test = TEST [, mods = %s])",
                        s$cluster, s$effect, deparse(modf)),
                "fitstats(res); confint(res, sigma2 = 1 and 2, control = list(tol = 1e-12))",
                sprintf("robust(res, cluster = %s, clubSandwich = TRUE)", s$cluster))),
    data = list(cluster = s$cluster, effect = s$effect, mods = s$mods))
  for (method in c("REML", "ML")) for (test in c("z", "t")) for (withmods in c(FALSE, TRUE)) {
    args <- list(yi = d$yi, V = d$vi, random = randf, data = d, method = method,
                 test = test)
    if (withmods) args$mods <- modf
    res <- do.call(rma.mv, args)
    o <- fitout(res)
    if (test == "z") o$confint <- ciout(res)
    if (test == "z") o$robust <- robout(res, d[[s$cluster]])
    key <- paste(method, test, sep = "_")
    if (withmods) key <- paste0(key, "_mods")
    out[[key]] <- o
  }
  write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null", null = "null"),
        file.path(outdir, paste0(nm, ".json")))
  cat(nm, nrow(d), "\n")
}
