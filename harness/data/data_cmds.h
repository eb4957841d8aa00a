/* bin/harness subcommands of the data stage: tokenize. */
#ifndef HX_DATA_DATA_CMDS_H
#define HX_DATA_DATA_CMDS_H

#include "data/ingest.h"

#include <stdint.h>

/* harness tokenize --tokenizer PATH --out DIR [--prefix NAME] [--text-field F]
 *   [--on-error stop|skip] [--shard-tokens N] [--max-doc-bytes N] INPUT...
 * Reads documents from INPUT files/directories/archives (see data/ingest.h),
 * encodes them (without special tokens; the boundary token is added per
 * data/shard.h) in parallel batches, and writes DIR/NAME-00000.hxs, ...
 * Prints documents, tokens, shards, skipped documents and MB/s. */
int hx_cmd_tokenize(int argc, char **argv);

/* The work of `harness tokenize` as a library call (used by the experiment
 * runner): tokenizes the documents of `inputs` with the tokenizer.json at
 * tok_path into out/prefix-NNNNN.hxs shards of at most shard_tokens tokens and
 * prints the same summary lines to stdout. Errors: those of the tokenizer,
 * ingestion (file:line) and shard writer. */
int hx_tokenize_files(const char *tok_path, const char *out, const char *prefix, const hx_ingest_opts *opts,
                      uint64_t shard_tokens, const char *const *inputs, int n_inputs);

#endif
