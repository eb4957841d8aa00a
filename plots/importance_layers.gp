# Per-layer importance scores (depth pruning: Block Importance or PPL/loss when the layer is dropped;
# [M-NIPS] §2.2, [P] "Layer Importance").
# Usage: gnuplot -e "data='layers.tsv'; out='plots/importance_layers'; fmt='png|svg|pdf'" plots/importance_layers.gp
# Input `data`: TSV with a header "layer<TAB><score name>[<TAB><score name>...]", then one row per
#   layer (0-based index, then one score per named kind). One curve per score column.
# Optional: title; ylabel_text (default 'layer importance'); style='bars' draws the first score
#   column as bars instead of one line per column.
script = ARG0
_slash = 0
do for [_i=1:strlen(script)] { if (script[_i:_i] eq '/') { _slash = _i } }
need_vars = 'data'
load (_slash > 0 ? script[1:_slash] : '').'common.gp'
if (!exists("title")) title = 'Per-layer importance'
if (!exists("ylabel_text")) ylabel_text = 'layer importance'
if (!exists("style")) style = 'lines'

stats data skip 1 using 1 nooutput
set title title noenhanced
set xlabel 'layer'
set ylabel ylabel_text noenhanced
set xrange [STATS_min - 0.6:STATS_max + 0.6]
set xtics 0, (STATS_max > 16 ? 4 : 1)
set key top center horizontal noenhanced
if (style eq 'bars') {
    set boxwidth 0.7
    set yrange [0:*]
    plot data using 1:2 with boxes ls 1 title columnhead(2)
} else {
    plot for [c=2:*] data using 1:c with linespoints ls (c-1) title columnhead(c)
}
