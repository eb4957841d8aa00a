/* bin/harness subcommands of the tokenizer: tokenizer-train, tokenizer-encode. */
#ifndef HX_DATA_TOKENIZER_CMDS_H
#define HX_DATA_TOKENIZER_CMDS_H

/* harness tokenizer-train --vocab N --out PATH [--min-frequency N]
 *   [--special TOK]... [--bos TOK|none] FILE...
 * Trains a byte-level BPE tokenizer on UTF-8 text files and writes tokenizer.json.
 * Defaults: specials <|begin_of_text|> <|end_of_text|>, BOS <|begin_of_text|>. */
int hx_cmd_tokenizer_train(int argc, char **argv);

/* harness tokenizer-encode --tokenizer PATH [--no-special] TEXT
 * Prints the token ids of TEXT, space-separated, on one line. */
int hx_cmd_tokenizer_encode(int argc, char **argv);

#endif
