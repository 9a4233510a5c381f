set terminal pngcairo size 1100,520 font "sans,10" noenhanced
set grid
set key outside right top
set datafile missing "-"
set linetype 9 lc rgb "#8c564b"
set linetype 10 lc rgb "#17becf"
set linetype 11 lc rgb "#7f7f7f"
set linetype 12 lc rgb "#bcbd22"
set linetype 13 lc rgb "#ff7f0e"
set linetype 14 lc rgb "#000080"
set linetype cycle 14
set output "/work/main/bench/results/crossover.png"
set multiplot layout 1,2 title "Echo, 100 connections: offered load from 100 msgs/s to the closed loop (x: achieved msgs/s)"
set logscale xy
set xlabel "msgs/s"
set xrange [50:400000]
set ylabel "server CPU, % of one core"
set key inside left top
plot "/work/main/bench/results/crossover.dat" index 0 using 1:2 with linespoints lw 2 title "busy", \
  "/work/main/bench/results/crossover.dat" index 1 using 1:2 with linespoints lw 2 title "select", \
  "/work/main/bench/results/crossover.dat" index 2 using 1:2 with linespoints lw 2 title "poll", \
  "/work/main/bench/results/crossover.dat" index 3 using 1:2 with linespoints lw 2 title "epoll", \
  "/work/main/bench/results/crossover.dat" index 4 using 1:2 with linespoints lw 2 title "backoff", \
  "/work/main/bench/results/crossover.dat" index 5 using 1:2 with linespoints lw 2 title "sigio", \
  "/work/main/bench/results/crossover.dat" index 6 using 1:2 with linespoints lw 2 title "uring-poll", \
  "/work/main/bench/results/crossover.dat" index 7 using 1:2 with linespoints lw 2 title "uring", \
  "/work/main/bench/results/crossover.dat" index 8 using 1:2 with linespoints lw 2 title "adaptive", \
  "/work/main/bench/results/crossover.dat" index 9 using 1:2 with linespoints lw 2 title "fork", \
  "/work/main/bench/results/crossover.dat" index 10 using 1:2 with linespoints lw 2 title "thread", \
  "/work/main/bench/results/crossover.dat" index 11 using 1:2 with linespoints lw 2 title "echo_libevent", \
  "/work/main/bench/results/crossover.dat" index 12 using 1:2 with linespoints lw 2 title "echo_libuv"
set ylabel "server CPU µs per message"
set key inside right top
plot "/work/main/bench/results/crossover.dat" index 0 using 1:3 with linespoints lw 2 title "busy", \
  "/work/main/bench/results/crossover.dat" index 1 using 1:3 with linespoints lw 2 title "select", \
  "/work/main/bench/results/crossover.dat" index 2 using 1:3 with linespoints lw 2 title "poll", \
  "/work/main/bench/results/crossover.dat" index 3 using 1:3 with linespoints lw 2 title "epoll", \
  "/work/main/bench/results/crossover.dat" index 4 using 1:3 with linespoints lw 2 title "backoff", \
  "/work/main/bench/results/crossover.dat" index 5 using 1:3 with linespoints lw 2 title "sigio", \
  "/work/main/bench/results/crossover.dat" index 6 using 1:3 with linespoints lw 2 title "uring-poll", \
  "/work/main/bench/results/crossover.dat" index 7 using 1:3 with linespoints lw 2 title "uring", \
  "/work/main/bench/results/crossover.dat" index 8 using 1:3 with linespoints lw 2 title "adaptive", \
  "/work/main/bench/results/crossover.dat" index 9 using 1:3 with linespoints lw 2 title "fork", \
  "/work/main/bench/results/crossover.dat" index 10 using 1:3 with linespoints lw 2 title "thread", \
  "/work/main/bench/results/crossover.dat" index 11 using 1:3 with linespoints lw 2 title "echo_libevent", \
  "/work/main/bench/results/crossover.dat" index 12 using 1:3 with linespoints lw 2 title "echo_libuv"
unset multiplot
set output "/work/main/bench/results/latency.png"
set multiplot layout 1,2 title "Echo latency against load, 100 connections (open loop: from the scheduled send)"
set ylabel "p50 µs"
set key inside left top
plot "/work/main/bench/results/crossover.dat" index 0 using 1:4 with linespoints lw 2 title "busy", \
  "/work/main/bench/results/crossover.dat" index 1 using 1:4 with linespoints lw 2 title "select", \
  "/work/main/bench/results/crossover.dat" index 2 using 1:4 with linespoints lw 2 title "poll", \
  "/work/main/bench/results/crossover.dat" index 3 using 1:4 with linespoints lw 2 title "epoll", \
  "/work/main/bench/results/crossover.dat" index 4 using 1:4 with linespoints lw 2 title "backoff", \
  "/work/main/bench/results/crossover.dat" index 5 using 1:4 with linespoints lw 2 title "sigio", \
  "/work/main/bench/results/crossover.dat" index 6 using 1:4 with linespoints lw 2 title "uring-poll", \
  "/work/main/bench/results/crossover.dat" index 7 using 1:4 with linespoints lw 2 title "uring", \
  "/work/main/bench/results/crossover.dat" index 8 using 1:4 with linespoints lw 2 title "adaptive", \
  "/work/main/bench/results/crossover.dat" index 9 using 1:4 with linespoints lw 2 title "fork", \
  "/work/main/bench/results/crossover.dat" index 10 using 1:4 with linespoints lw 2 title "thread", \
  "/work/main/bench/results/crossover.dat" index 11 using 1:4 with linespoints lw 2 title "echo_libevent", \
  "/work/main/bench/results/crossover.dat" index 12 using 1:4 with linespoints lw 2 title "echo_libuv"
set ylabel "p99 µs"
plot "/work/main/bench/results/crossover.dat" index 0 using 1:5 with linespoints lw 2 title "busy", \
  "/work/main/bench/results/crossover.dat" index 1 using 1:5 with linespoints lw 2 title "select", \
  "/work/main/bench/results/crossover.dat" index 2 using 1:5 with linespoints lw 2 title "poll", \
  "/work/main/bench/results/crossover.dat" index 3 using 1:5 with linespoints lw 2 title "epoll", \
  "/work/main/bench/results/crossover.dat" index 4 using 1:5 with linespoints lw 2 title "backoff", \
  "/work/main/bench/results/crossover.dat" index 5 using 1:5 with linespoints lw 2 title "sigio", \
  "/work/main/bench/results/crossover.dat" index 6 using 1:5 with linespoints lw 2 title "uring-poll", \
  "/work/main/bench/results/crossover.dat" index 7 using 1:5 with linespoints lw 2 title "uring", \
  "/work/main/bench/results/crossover.dat" index 8 using 1:5 with linespoints lw 2 title "adaptive", \
  "/work/main/bench/results/crossover.dat" index 9 using 1:5 with linespoints lw 2 title "fork", \
  "/work/main/bench/results/crossover.dat" index 10 using 1:5 with linespoints lw 2 title "thread", \
  "/work/main/bench/results/crossover.dat" index 11 using 1:5 with linespoints lw 2 title "echo_libevent", \
  "/work/main/bench/results/crossover.dat" index 12 using 1:5 with linespoints lw 2 title "echo_libuv"
unset multiplot
unset logscale
set xrange [*:*]
set output "/work/main/bench/results/scale.png"
set multiplot layout 1,2 title "1 echo connection at 1000 msgs/s beside K idle connections"
set xtics ("0" 0, "10" 1, "100" 2, "1000" 3, "10000" 4)
set xlabel "idle connections K"
set logscale y
set ylabel "server CPU µs per message"
set key inside left top
plot "/work/main/bench/results/scale.dat" index 0 using 1:2 with linespoints lw 2 title "busy", \
  "/work/main/bench/results/scale.dat" index 1 using 1:2 with linespoints lw 2 title "select", \
  "/work/main/bench/results/scale.dat" index 2 using 1:2 with linespoints lw 2 title "poll", \
  "/work/main/bench/results/scale.dat" index 3 using 1:2 with linespoints lw 2 title "epoll", \
  "/work/main/bench/results/scale.dat" index 4 using 1:2 with linespoints lw 2 title "backoff", \
  "/work/main/bench/results/scale.dat" index 5 using 1:2 with linespoints lw 2 title "sigio", \
  "/work/main/bench/results/scale.dat" index 6 using 1:2 with linespoints lw 2 title "uring-poll", \
  "/work/main/bench/results/scale.dat" index 7 using 1:2 with linespoints lw 2 title "uring", \
  "/work/main/bench/results/scale.dat" index 8 using 1:2 with linespoints lw 2 title "adaptive", \
  "/work/main/bench/results/scale.dat" index 9 using 1:2 with linespoints lw 2 title "fork", \
  "/work/main/bench/results/scale.dat" index 10 using 1:2 with linespoints lw 2 title "thread"
set ylabel "server CPU, % of one core"
plot "/work/main/bench/results/scale.dat" index 0 using 1:3 with linespoints lw 2 title "busy", \
  "/work/main/bench/results/scale.dat" index 1 using 1:3 with linespoints lw 2 title "select", \
  "/work/main/bench/results/scale.dat" index 2 using 1:3 with linespoints lw 2 title "poll", \
  "/work/main/bench/results/scale.dat" index 3 using 1:3 with linespoints lw 2 title "epoll", \
  "/work/main/bench/results/scale.dat" index 4 using 1:3 with linespoints lw 2 title "backoff", \
  "/work/main/bench/results/scale.dat" index 5 using 1:3 with linespoints lw 2 title "sigio", \
  "/work/main/bench/results/scale.dat" index 6 using 1:3 with linespoints lw 2 title "uring-poll", \
  "/work/main/bench/results/scale.dat" index 7 using 1:3 with linespoints lw 2 title "uring", \
  "/work/main/bench/results/scale.dat" index 8 using 1:3 with linespoints lw 2 title "adaptive", \
  "/work/main/bench/results/scale.dat" index 9 using 1:3 with linespoints lw 2 title "fork", \
  "/work/main/bench/results/scale.dat" index 10 using 1:3 with linespoints lw 2 title "thread"
unset multiplot
unset logscale
set xtics autofreq
set output "/work/main/bench/results/backoff.png"
set title "backoff: idle CPU (1000 idle clients) against echo-sparse p50, by --backoff-max-us"
set xlabel "echo-sparse p50 µs"
set ylabel "idle server CPU %"
set logscale x
set key off
set offsets graph 0.05, graph 0.15, graph 0.1, graph 0.05
plot "/work/main/bench/results/curve-backoff.dat" using 1:2 with linespoints pt 7 lw 2 notitle, "" using 1:2:(sprintf("--backoff-max-us=%d", $3)) with labels offset 1,0.8 left notitle
unset logscale
set offsets 0,0,0,0
set key on
unset title
set output "/work/main/bench/results/spin.png"
set title "adaptive: idle CPU (1000 idle clients) against echo-sparse p50, by --spin-us"
set xlabel "echo-sparse p50 µs"
set ylabel "idle server CPU %"
set logscale x
set key off
set offsets graph 0.05, graph 0.15, graph 0.1, graph 0.05
plot "/work/main/bench/results/curve-adaptive.dat" using 1:2 with linespoints pt 7 lw 2 notitle, "" using 1:2:(sprintf("--spin-us=%d", $3)) with labels offset 1,0.8 left notitle
unset logscale
set offsets 0,0,0,0
set key on
unset title
