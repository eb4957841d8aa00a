# Attention-head importance heatmap: layer x head ([M-NIPS] §2.2: F_head = aggregated ‖head output‖₂).
# Usage: gnuplot -e "data='heads.tsv'; out='plots/importance_heads'; fmt='png|svg|pdf'" plots/importance_heads.gp
# Input `data`: a plain TSV matrix, one row per layer (layer 0 first), one column per attention
#   (query) head, no header; lines starting with '#' are comments.
# Optional: title; cblabel (colour-bar label, default 'head importance (a.u.)').
script = ARG0
_slash = 0
do for [_i=1:strlen(script)] { if (script[_i:_i] eq '/') { _slash = _i } }
need_vars = 'data'
hscale = 1.1
load (_slash > 0 ? script[1:_slash] : '').'common.gp'
if (!exists("cblabel")) cblabel = 'head importance (a.u.)'
if (!exists("title")) title = 'Attention-head importance'

stats data matrix nooutput
n_layers = STATS_size_y
n_heads = STATS_size_x
set title title noenhanced
set xlabel 'attention head'
set ylabel 'layer'
set cblabel cblabel noenhanced
set xrange [-0.5:n_heads-0.5]
set yrange [-0.5:n_layers-0.5]
set xtics 0, (n_heads > 16 ? 4 : 1) out
set ytics 0, (n_layers > 16 ? 4 : 1) out
unset key
unset grid
set border 15
set tics nomirror
# Viridis anchor colours: perceptually uniform and readable in grey scale.
set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')
plot data matrix using 1:2:3 with image notitle
