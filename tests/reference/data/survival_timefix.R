# Reference outputs for trialdesk's timefix (R's aeqSurv) and Harrell's concordance with ties.
# Run from this folder:  Rscript survival_timefix.R   -> survival_timefix.json
# Needs: R >= 4.2 and survival (3.5-3 used; Debian r-cran-survival). No other package: the JSON is
# written by the small helpers below (numbers with 17 significant digits).
suppressPackageStartupMessages(library(survival))

num <- function(x) {
  x <- as.numeric(x)
  s <- ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "1e999", "-1e999"),
                                       formatC(x, digits = 17, format = "g")))
  paste0("[", paste(trimws(s), collapse = ","), "]")
}
obj <- function(...) {
  items <- list(...)
  paste0("{", paste(sprintf("\"%s\":%s", names(items), unlist(items)), collapse = ","), "}")
}
str1 <- function(s) sprintf("\"%s\"", s)

# --- data: integer days, with copies shifted by amounts R's timefix merges or keeps apart ---------
set.seed(17)
n <- 90
base <- sample(1:25, n, replace = TRUE)
kind <- sample(c("exact", "abs_1e-9", "rel_1e-7", "far_1e-5", "fp_rounding"), n, replace = TRUE)
time <- base + ifelse(kind == "abs_1e-9", 1e-9, 0) + ifelse(kind == "rel_1e-7", 1e-7, 0) +
  ifelse(kind == "far_1e-5", 1e-5, 0)
time[kind == "fp_rounding"] <- (base[kind == "fp_rounding"] * 0.1) * 10  # off by one ulp or exact
status <- rbinom(n, 1, 0.75)
group <- sample(rep(1:2, length.out = n))
x2 <- round(rnorm(n), 1)
stratum <- sample(1:2, n, replace = TRUE)
risk <- round(rnorm(n))  # a risk score with many ties
d <- data.frame(time, status, group, x2, stratum, risk)

km_json <- function(fit) obj(time = num(fit$time), n_risk = num(fit$n.risk), n_event = num(fit$n.event),
  n_censor = num(fit$n.censor), surv = num(fit$surv), std_err = num(fit$std.err))
lr_json <- function(fit) obj(observed = num(fit$obs), expected = num(fit$exp), variance = num(fit$var),
  chisq = num(fit$chisq))
cox_json <- function(fit) obj(coef = num(coef(fit)), se = num(sqrt(diag(vcov(fit)))),
  loglik = num(fit$loglik), concordance = num(fit$concordance[["concordance"]]),
  score = num(fit$score), iter = num(fit$iter))
conc_json <- function(fit) {
  count <- if (is.matrix(fit$count)) colSums(fit$count) else fit$count  # per-stratum rows summed
  obj(concordance = num(fit$concordance), concordant = num(count[["concordant"]]),
      discordant = num(count[["discordant"]]), tied_risk = num(count[["tied.x"]]))
}

# survdiff 3.5-3 forwards a named `timefix` argument to model.frame ("variable lengths differ"), so
# timefix = FALSE is given as the default of a copy of survdiff instead of as an argument
survdiff_tf <- function(tf) { f <- survdiff; formals(f)$timefix <- tf; f }

results <- character(0)
for (tf in c(TRUE, FALSE)) {
  key <- if (tf) "timefix_true" else "timefix_false"
  cox <- character(0)
  for (ties in c("efron", "breslow")) {
    ctl <- coxph.control(timefix = tf)
    cox <- c(cox,
      sprintf("\"%s\":%s", ties, cox_json(coxph(Surv(time, status) ~ group + x2, d, ties = ties, control = ctl))),
      sprintf("\"%s_strata\":%s", ties,
              cox_json(coxph(Surv(time, status) ~ group + x2 + strata(stratum), d, ties = ties, control = ctl))))
  }
  by_group <- survfit(Surv(time, status) ~ group, d, timefix = tf)
  g1 <- seq_len(by_group$strata[[1]])
  g2 <- by_group$strata[[1]] + seq_len(by_group$strata[[2]])
  sub <- function(fit, i) obj(time = num(fit$time[i]), n_risk = num(fit$n.risk[i]),
    n_event = num(fit$n.event[i]), n_censor = num(fit$n.censor[i]), surv = num(fit$surv[i]),
    std_err = num(fit$std.err[i]))
  results <- c(results, sprintf("\"%s\":%s", key, obj(
    km = km_json(survfit(Surv(time, status) ~ 1, d, timefix = tf)),
    km_by_group = obj(`1` = sub(by_group, g1), `2` = sub(by_group, g2)),
    logrank = lr_json(survdiff_tf(tf)(Surv(time, status) ~ group, d)),
    logrank_strata = lr_json(survdiff_tf(tf)(Surv(time, status) ~ group + strata(stratum), d)),
    cox = paste0("{", paste(cox, collapse = ","), "}"),
    # concordance(formula, timefix = FALSE) still merges in 3.5-3 (it calls concordancefit without
    # passing timefix, whose default is TRUE), so the fitting function is called directly, as coxph does
    concordance = conc_json(survival:::concordancefit(Surv(d$time, d$status), d$risk, reverse = TRUE,
                                                      timefix = tf)),
    concordance_strata = conc_json(survival:::concordancefit(Surv(d$time, d$status), d$risk, d$stratum,
                                                             reverse = TRUE, timefix = tf)))))
}

# --- a larger data set with heavy ties in time and in the risk score, for the concordance -----------
set.seed(1717)
m <- 3000
big <- data.frame(time = sample(1:60, m, replace = TRUE), status = rbinom(m, 1, 0.6),
                  risk = sample(1:12, m, replace = TRUE), stratum = sample(1:3, m, replace = TRUE))
conc_big <- obj(
  data = obj(time = num(big$time), status = num(big$status), risk = num(big$risk), stratum = num(big$stratum)),
  plain = conc_json(concordance(Surv(time, status) ~ risk, big, reverse = TRUE)),
  strata = conc_json(concordance(Surv(time, status) ~ risk + strata(stratum), big, reverse = TRUE)))

out <- obj(
  source = str1("tests/reference/data/survival_timefix.R"),
  r_version = str1(R.version.string), survival_version = str1(as.character(packageVersion("survival"))),
  data = obj(time = num(d$time), status = num(d$status), group = num(d$group), x2 = num(d$x2),
             stratum = num(d$stratum), risk = num(d$risk)),
  kind = paste0("[", paste(str1(kind), collapse = ","), "]"),
  results = paste0("{", paste(results, collapse = ","), "}"),
  concordance_ties = conc_big)
writeLines(out, "survival_timefix.json")
