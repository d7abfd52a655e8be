# R's uwot::umap on float32 points from a file, the reference for our UMAP; prints one JSON line.
# Usage: Rscript --vanilla uwot.R <points.f32> <n> <d> <threads>
suppressPackageStartupMessages(library(uwot))
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[2]); d <- as.integer(args[3]); threads <- as.integer(args[4])
con <- file(args[1], "rb")
x <- matrix(readBin(con, "numeric", n = n * d, size = 4, endian = "little"), ncol = d, byrow = TRUE)
close(con)
t0 <- proc.time()[["elapsed"]]
set.seed(1)
y <- umap(x, n_neighbors = 15, n_components = 2, min_dist = 0.1, n_epochs = 200, n_threads = threads)
seconds <- proc.time()[["elapsed"]] - t0
cat(sprintf('{"seconds": %.3f, "uwot": "%s"}\n', seconds, as.character(packageVersion("uwot"))))
