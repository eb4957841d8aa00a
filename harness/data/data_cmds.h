/* bin/harness subcommands of the data stage: tokenize. */
#ifndef HX_DATA_DATA_CMDS_H
#define HX_DATA_DATA_CMDS_H

/* harness tokenize --tokenizer PATH --out DIR [--prefix NAME] [--text-field F]
 *   [--on-error stop|skip] [--shard-tokens N] [--max-doc-bytes N] INPUT...
 * Reads documents from INPUT files/directories/archives (see data/ingest.h),
 * encodes them (without special tokens; the boundary token is added per
 * data/shard.h) in parallel batches, and writes DIR/NAME-00000.hxs, ...
 * Prints documents, tokens, shards, skipped documents and MB/s. */
int hx_cmd_tokenize(int argc, char **argv);

#endif
