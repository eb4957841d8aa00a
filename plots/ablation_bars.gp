# Ablation bar chart: one bar per setting, with optional error bars (e.g. the spread over seeds).
# Usage: gnuplot -e "data='ablation.tsv'; out='plots/ablation'; fmt='png|svg|pdf'" plots/ablation_bars.gp
# Input `data`: TSV with a header "label<TAB>value[<TAB>error]", then one row per setting; label is
#   free text (may contain spaces); error is a symmetric half-width in the units of value.
# Optional: title; ylabel_text (the metric and its unit, default 'value'); ymin (default: 0 for
#   all-positive data, else autoscaled).
script = ARG0
_slash = 0
do for [_i=1:strlen(script)] { if (script[_i:_i] eq '/') { _slash = _i } }
need_vars = 'data'
load (_slash > 0 ? script[1:_slash] : '').'common.gp'
if (!exists("title")) title = 'Ablation'
if (!exists("ylabel_text")) ylabel_text = 'value'

has_err = 0
stats data skip 1 using (has_err = has_err || valid(3), $2) nooutput
n = STATS_records
set title title noenhanced
set ylabel ylabel_text noenhanced
set xrange [-0.6:n-0.4]
if (exists("ymin")) { set yrange [ymin:*] } else { if (STATS_min >= 0) { set yrange [0:*] } }
set xtics rotate by -30 left noenhanced scale 0
set grid noxtics ytics
set boxwidth 0.65
set bmargin 8
unset key
# Value above each bar (and above its error bar), so the figure can be read without the axis.
# The error-bar element is added only when the file has an error column (an empty `for` would still
# read the file and warn).
err_plot = has_err ? ", '' skip 1 using 0:2:3 with yerrorbars lc rgb '#000000' lw 1.5 pt 0 notitle" : ''
eval "plot data skip 1 using 0:2:xtic(1) with boxes ls 1 notitle, " . \
     "'' skip 1 using 0:(has_err ? $2 + $3 : $2):(sprintf('%.4g', $2)) with labels offset 0,0.8 notitle" . err_plot
