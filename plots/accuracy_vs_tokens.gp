# Accuracy against training tokens (log x axis), "like beside like" (DESIGN.md, Plots):
#   left panel   our arms on the mini reproduction's own task (only when `data` is given);
#   right panel  the paper's reference figure (accuracy vs training tokens, as in [M-NIPS] Fig. 1),
#                redrawn from baselines/, plus our paper-scale arms measured with the same task and
#                protocol (`ours_ref`), when they exist.
# Usage: gnuplot -e "ref='ref.tsv'; data='arms.tsv'; out='plots/accuracy'; fmt='png|svg|pdf'" \
#                plots/accuracy_vs_tokens.gp
# Inputs (TSV, one header line, '#' comments):
#   ref       "model<TAB>tokens<TAB>accuracy<TAB>group": one published model per row; tokens = its
#             training tokens; accuracy in percent; group = minitron | published | teacher.
#             harness/exp/plot.c (hx_plot_reference_panel) writes it from baselines/*.csv.
#   data      optional; "arm<TAB>tokens<TAB>accuracy<TAB>lo<TAB>hi": our arms on the mini task,
#             accuracy in percent (mean over seeds) with its 95% Wilson interval lo..hi (items x
#             seeds pooled); rows with tokens <= 0 are skipped (log axis). Arm names have no
#             whitespace.
#   ours_ref  optional; same layout as `data`, measured on the reference task and protocol.
# Optional labels: task (mini task name), ref_task (default 'MMLU (5-shot)'), title.
# Optional lines in the left panel: chance (percent: a uniform guess), teacher (percent: the
# teacher's accuracy), note (a line under the panel title, e.g. too few items to separate arms).
script = ARG0
_slash = 0
do for [_i=1:strlen(script)] { if (script[_i:_i] eq '/') { _slash = _i } }
need_vars = 'ref'
have_data = exists("data") && strlen(data) > 0
have_ours = exists("ours_ref") && strlen(ours_ref) > 0
wscale = have_data ? 2.1 : 1.35
load (_slash > 0 ? script[1:_slash] : '').'common.gp'
if (!exists("task")) task = 'mini task'
if (!exists("ref_task")) ref_task = 'MMLU (5-shot)'

# Model names, groups, and each model's rank within its group, in file order (names have no
# whitespace); the rank picks a distinct colour/symbol pair per model.
models = ''
groups = ''
ranks = ''
n_min = 0; n_pub = 0; n_tea = 0
rank_of(g) = g eq 'minitron' ? (n_min = n_min + 1) : (g eq 'teacher' ? (n_tea = n_tea + 1) : (n_pub = n_pub + 1))
stats ref skip 1 using (_g = strcol(4), models = models.' '.strcol(1), groups = groups.' '._g, \
                        ranks = ranks.' '.sprintf('%d', rank_of(_g)), $2) nooutput
if (have_data) {
    arms = ''
    stats data skip 1 using (_a = strcol(1), arms = strstrt(arms, ' '._a.' ') > 0 ? arms : arms.' '._a.' ', $2) nooutput
}
ours = ''
if (!have_ours) { ours_ref = ref }
if (have_ours) {
    stats ours_ref skip 1 using (_a = strcol(1), ours = strstrt(ours, ' '._a.' ') > 0 ? ours : ours.' '._a.' ', $2) nooutput
}

set logscale x 10
set format x '10^{%L}'
set xlabel 'training tokens (log scale)'
set mxtics 10

if (have_data) {
    set multiplot layout 1,2 title (exists("title") ? title : '') noenhanced
    set title sprintf('This harness: %s%s', task, exists("note") ? "\n".note : '') noenhanced
    set ylabel 'accuracy (%)'
    set key top left
    if (exists("chance")) { chance = chance + 0 }
    chance_key = exists("chance") ? sprintf('chance (%.0f%%)', chance) : ''
    if (!exists("chance")) { chance = NaN }
    if (exists("teacher")) { teacher = teacher + 0 }
    teacher_key = exists("teacher") ? 'teacher' : ''
    if (!exists("teacher")) { teacher = NaN }
    plot for [i=1:words(arms)] data skip 1 \
         using ($2 > 0 ? $2 : NaN):(strcol(1) eq word(arms, i) ? $3 : NaN):4:5 \
         with yerrorlines ls i title word(arms, i) noenhanced, \
         chance with lines lc rgb '#999999' dt 3 lw 1.5 title chance_key, \
         teacher with lines lc rgb '#000000' dt 2 lw 1.5 title teacher_key
}

# Reference panel: one symbol per published model, listed in the legend. Minitron models are
# filled vermillion symbols, their teachers open black symbols, other published models open symbols
# in the remaining Okabe-Ito colours; (colour, shape) pairs are unique within each group.
others = '#0072B2 #009E73 #CC79A7 #E69F00 #56B4E9 #999999'
colour(g, r) = g eq 'minitron' ? '#D55E00' : (g eq 'teacher' ? '#000000' : word(others, (r-1) % 6 + 1))
symbol(g, r) = 4 + 2*((r-1) % 5) + (g eq 'minitron' ? 1 : 0)
ref_title = (exists("title") && !have_data) ? title : sprintf('Published models: %s vs training tokens', ref_task)
set title ref_title noenhanced
set ylabel sprintf('%s accuracy (%%)', ref_task) noenhanced
set key outside right top vertical Left reverse noopaque nobox spacing 1.0
xmin = 3e10
if (have_ours) {
    stats ours_ref skip 1 using ($2 > 0 ? $2 : NaN) nooutput
    xmin = STATS_min / 2 < xmin ? STATS_min / 2 : xmin
}
set xrange [xmin:4e13]
plot for [i=1:words(models)] ref skip 1 every ::i-1::i-1 using 2:3 with points \
         pt symbol(word(groups, i), int(word(ranks, i))) ps 1.8 lw 1.5 \
         lc rgb colour(word(groups, i), int(word(ranks, i))) \
         title word(models, i) noenhanced, \
     for [i=1:words(ours)] ours_ref skip 1 \
         using ($2 > 0 ? $2 : NaN):(strcol(1) eq word(ours, i) ? $3 : NaN) \
         with linespoints ls i dt 2 title sprintf('this harness: %s', word(ours, i)) noenhanced
if (have_data) { unset multiplot }
