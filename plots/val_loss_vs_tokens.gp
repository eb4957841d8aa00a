# Validation loss against training tokens (or FLOPs), one curve per arm with a shaded band.
# Usage: gnuplot -e "data='curves.tsv'; out='plots/val_loss'; fmt='png|svg|pdf'" plots/val_loss_vs_tokens.gp
# Input `data`: TSV with a header line "arm<TAB>tokens<TAB>val_loss<TAB>lo<TAB>hi", then one row per
#   eval point; arm = arm name (no whitespace), tokens = training tokens seen by that arm (or the
#   x quantity named by `xlabel`), val_loss = mean next-token cross-entropy on the validation split
#   in nats/token (the mean over seeds), lo/hi = its band (mean -/+ one standard deviation across
#   seeds; equal to val_loss for one seed). Rows of one arm are contiguous and in token order
#   (harness/exp/plot.c writes it so).
# Optional: title (string); xlabel (default 'training tokens'); logx='1' for a log x axis;
#   teacher (number) draws the teacher's validation loss as a dashed line; note (string) a
#   line under the title.
script = ARG0
_slash = 0
do for [_i=1:strlen(script)] { if (script[_i:_i] eq '/') { _slash = _i } }
need_vars = 'data'
load (_slash > 0 ? script[1:_slash] : '').'common.gp'

# Collect the arm names in file order.
arms = ''
stats data skip 1 using (_a = strcol(1), arms = strstrt(arms, ' '._a.' ') > 0 ? arms : arms.' '._a.' ', $2) nooutput
if (!exists("title")) title = 'Validation loss vs training tokens'
if (exists("note")) title = title."\n".note
set title title noenhanced
set xlabel (exists("xlabel") ? xlabel : 'training tokens') noenhanced
set ylabel 'validation loss (nats/token)'
set format x '%.1s%c'
if (exists("logx") && logx eq '1') { set logscale x 10; set format x '10^{%L}' }
set key top right
# teacher and chance arrive as text (-e "teacher='...'"): + 0 makes them numbers
if (exists("teacher")) { teacher = teacher + 0 }
teacher_key = exists("teacher") ? 'teacher' : ''
if (!exists("teacher")) { teacher = NaN }
set style fill transparent solid 0.18 noborder
plot for [i=1:words(arms)] data skip 1 \
         using 2:(strcol(1) eq word(arms, i) ? $4 : NaN):(strcol(1) eq word(arms, i) ? $5 : NaN) \
         with filledcurves ls i notitle, \
     for [i=1:words(arms)] data skip 1 \
         using 2:(strcol(1) eq word(arms, i) ? $3 : NaN) with linespoints ls i title word(arms, i) noenhanced, \
     teacher with lines lc rgb '#000000' dt 2 lw 1.5 title teacher_key
