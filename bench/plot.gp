# plot.gp - bench/compare's charts, from the .dat files report.awk writes.
# Usage: gnuplot -e "dir='bench/out'" bench/plot.gp
# cpu.dat and p99.dat: a header "scenario driver...", then one row per
# scenario, "-" where a driver has no figure.  curve.dat: max_us idle_cpu
# p50 p99 sparse_cpu.

if (!exists("dir")) dir = "bench/out"

set terminal pngcairo size 1000,560 font "sans,10"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical autotitle columnheader
set grid ytics
set xtics nomirror
set ytics nomirror

# How many columns the header has: the drivers that ran, plus peers.
ncols = system("head -n 1 '" . dir . "/cpu.dat' | wc -w") + 0

set output dir . "/cpu.png"
set title "Server CPU by scenario (% of one core, user+sys, median)"
set ylabel "server CPU %"
set yrange [0:*]
plot for [i=2:ncols] dir . "/cpu.dat" using i:xtic(1)

# Idle scenarios have no latency: only non-idle ones are in p99.dat.
if (system("wc -l < '" . dir . "/p99.dat'") + 0 > 1) {
	set output dir . "/p99.png"
	set title "p99 latency by scenario (µs, log scale, median of runs)"
	set ylabel "p99 latency, µs"
	set logscale y
	set yrange [*:*]
	plot for [i=2:ncols] dir . "/p99.dat" using i:xtic(1)
	unset logscale y
}

if (system("test -s '" . dir . "/curve.dat' && echo y") eq "y") {
	set output dir . "/backoff.png"
	set style data linespoints
	set title "backoff: idle CPU (1000 idle clients) against p50 latency (echo-sparse)"
	set xlabel "echo-sparse p50 latency, µs (log scale)"
	set ylabel "idle-1000 server CPU %"
	set logscale x
	set yrange [0:*]
	set offsets graph 0.05, graph 0.15, graph 0.1, graph 0.02
	set key noautotitle
	set key off
	plot dir . "/curve.dat" using 3:2 with linespoints pt 7 ps 1.3 lw 2 notitle, \
	     "" using 3:2:(sprintf("max %d µs", $1)) with labels offset 1.5,0.8 left notitle
}
