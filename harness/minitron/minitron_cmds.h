/* Subcommands of the Minitron stage: `harness importance`, `harness prune`
 * and `harness search` (usage: --help of each). */
#ifndef HX_MINITRON_CMDS_H
#define HX_MINITRON_CMDS_H

/* importance: calibration windows from token shards -> hx_importance_run ->
 * HDF5 group (minitron/store.h); prints the top/bottom layers, time and tokens/s. */
int hx_cmd_importance(int argc, char **argv);

/* prune: model directory + stored scores + targets (sizes, dropped layers,
 * best block, parameter budget, random control) -> HF model directory
 * (config.json, safetensors, tokenizer.json copied), plan in HDF5 with --log. */
int hx_cmd_prune(int argc, char **argv);

/* search: enumerate candidates within ±p% of a parameter budget, retrain
 * each briefly, rank by validation loss (minitron/search.h). */
int hx_cmd_search(int argc, char **argv);

#endif
