/* Corpus files -> token shards: the library operation behind `harness
 * tokenize` and the experiment runner's data stage. */
#ifndef HX_DATA_TOKENIZE_H
#define HX_DATA_TOKENIZE_H

#include "data/ingest.h"

#include <stdint.h>

/* Tokenizes the documents of `inputs` (files, directories, archives; see
 * data/ingest.h) with the tokenizer.json at tok_path, without special
 * tokens (the boundary token is added per data/shard.h), into
 * out/prefix-NNNNN.hxs shards of at most shard_tokens tokens, and prints the
 * documents, tokens, shards, skipped documents and MB/s to stdout. Errors: those of the tokenizer,
 * ingestion (file:line) and shard writer. */
int hx_tokenize_files(const char *tok_path, const char *out, const char *prefix, const hx_ingest_opts *opts,
                      uint64_t shard_tokens, const char *const *inputs, int n_inputs);

#endif
