# Shared set-up for every figure script in plots/: checks the required
# variables, picks the terminal for `fmt` (png|svg|pdf), opens `out`.`fmt`,
# and sets a common, colour-blind-safe style (Okabe-Ito colours).
# Callers set, before `load`ing this file:
#   need_vars  space-separated names of the variables the script requires
#   script     the calling script's path (ARG0), for messages
#   wscale     width multiplier for wide (multi-panel) figures (default 1)
# Command-line variables (gnuplot -e "data='...'; out='...'; fmt='png'"):
#   out  output path without extension (required); fmt  png | svg | pdf (default png)

if (!exists("wscale")) wscale = 1.0
if (!exists("hscale")) hscale = 1.0
if (!exists("fmt")) fmt = 'png'
do for [v in 'out '.need_vars] {
    if (!exists(v)) {
        print sprintf("error: %s: variable '%s' is not set; run as gnuplot -e \"%s='...'; out='...'; fmt='png|svg|pdf'\" %s", script, v, v, script)
        exit status 2
    }
}

font_name = 'DejaVu Sans'
if (fmt eq 'png') {
    # pngcairo gives anti-aliased output; plain png (libgd) is the fallback when gnuplot lacks cairo.
    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
        set terminal pngcairo enhanced size 1200*wscale, 800*hscale font font_name.',15' linewidth 2
    } else {
        set terminal png enhanced size 1200*wscale, 800*hscale font font_name.' 15' linewidth 2
    }
} else {
    if (fmt eq 'svg') {
        set terminal svg enhanced size 900*wscale, 600*hscale dynamic font font_name.',13' linewidth 1.5 background '#ffffff'
    } else {
        if (fmt eq 'pdf') {
            if (strstrt(GPVAL_TERMINALS, 'pdfcairo') == 0) {
                print "error: this gnuplot has no pdfcairo terminal (install gnuplot-nox >= 5 built with cairo)"
                exit status 2
            }
            set terminal pdfcairo enhanced size 6.4*wscale, 4.2*hscale font font_name.',11' linewidth 1.5
        } else {
            print sprintf("error: %s: fmt='%s' is not one of png, svg, pdf", script, fmt)
            exit status 2
        }
    }
}
set output out.'.'.fmt

set datafile separator "\t"
set datafile commentschars '#'
set encoding utf8
set border 3 lw 1
set tics nomirror out
set grid back lc rgb '#dddddd' lw 0.5
set key opaque box lw 0.5 samplen 2 spacing 1.1
set style fill solid 0.85 border -1

# Okabe-Ito colours; scripts use line style n (ls n) for the n-th curve.
array okabe[8] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000']
do for [i=1:8] { set style line i lc rgb okabe[i] lw 1.5 pt (4 + 2*i) % 14 + 1 ps 1.2 }
