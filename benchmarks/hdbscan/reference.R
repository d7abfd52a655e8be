# R's dbscan::hdbscan on float32 points from a file; prints one JSON line (seconds, clusters, noise) and
# writes the labels (int32, 0 = noise) next to the input.
# Usage: Rscript --vanilla reference.R <points.f32> <n> <d> <minPts>
suppressPackageStartupMessages(library(dbscan))
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[2]); d <- as.integer(args[3]); minPts <- as.integer(args[4])
con <- file(args[1], "rb")
x <- matrix(readBin(con, "numeric", n = n * d, size = 4, endian = "little"), ncol = d, byrow = TRUE)
close(con)
t0 <- proc.time()[["elapsed"]]
res <- hdbscan(x, minPts = minPts)
seconds <- proc.time()[["elapsed"]] - t0
out <- file(paste0(args[1], ".labels"), "wb")
writeBin(as.integer(res$cluster), out, size = 4, endian = "little")
close(out)
cat(sprintf('{"seconds": %.4f, "clusters": %d, "noise": %d}\n', seconds, max(res$cluster), sum(res$cluster == 0)))
