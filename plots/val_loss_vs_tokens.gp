# Validation loss against training tokens, one curve per arm.
# Usage: gnuplot -e "data='curves.tsv'; out='plots/val_loss'; fmt='png|svg|pdf'" plots/val_loss_vs_tokens.gp
# Input `data`: TSV with a header line "arm<TAB>tokens<TAB>val_loss", then one row per eval point;
#   arm = arm name (no whitespace), tokens = training tokens seen by that arm, val_loss = mean
#   next-token cross-entropy on the validation split in nats/token. Rows of one arm are contiguous
#   and in token order (harness/exp/plot.c writes it so).
# Optional: title (string); logx=1 for a log token axis (default linear).
script = ARG0
_slash = 0
do for [_i=1:strlen(script)] { if (script[_i:_i] eq '/') { _slash = _i } }
need_vars = 'data'
load (_slash > 0 ? script[1:_slash] : '').'common.gp'

# Collect the arm names in file order.
arms = ''
stats data skip 1 using (_a = strcol(1), arms = strstrt(arms, ' '._a.' ') > 0 ? arms : arms.' '._a.' ', $2) nooutput
if (!exists("title")) title = 'Validation loss vs training tokens'
set title title noenhanced
set xlabel 'training tokens'
set ylabel 'validation loss (nats/token)'
set format x '%.1s%c'
if (exists("logx") && logx) { set logscale x 10; set format x '10^{%L}' }
set key top right
plot for [i=1:words(arms)] data skip 1 \
     using 2:(strcol(1) eq word(arms, i) ? $3 : NaN) with linespoints ls i title word(arms, i) noenhanced
