"""Pure numerics: survival analysis, binomial methods, sample size, batched simulation."""
