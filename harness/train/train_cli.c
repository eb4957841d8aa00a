/* `bin/harness train`: command-line front end of hx_train. */
#include "core/err.h"
#include "core/parse.h"
#include "model/weights.h"
#include "train/train_cmds.h"
#include "train/trainer.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: harness train (--config CONFIG.json | --init-from HF_DIR) --train SHARDS --tokens N [options]\n"
            "  --config FILE        model config.json; random init from --seed\n"
            "  --init-from DIR      start from a Hugging Face model directory\n"
            "  --train SPEC         token shards: directory, glob or .hxs file\n"
            "  --val SPEC           validation shards (val loss every --eval-every tokens and at the end)\n"
            "  --tokens N           token budget (multiple of micro-batch x seq-len); the run stops exactly there\n"
            "  --seq-len T          tokens per sequence (default 256)\n"
            "  --micro-batch B      sequences per micro-batch (default 1)\n"
            "  --grad-accum K       micro-batches per optimizer step (default 1)\n"
            "  --lr X --min-lr X    peak and final learning rate (default 3e-4, peak/10)\n"
            "  --schedule S         cosine|linear|constant|wsd (default cosine); --warmup STEPS (default 0)\n"
            "  --wd X               AdamW weight decay (default 0.1); --clip X global-norm clip (default 1.0)\n"
            "  --eval-every N       tokens between validations; --eval-batches N (default 4)\n"
            "  --ckpt-dir DIR       checkpoints (step-XXXXXXXX/ HF dirs + optimizer/trainer state)\n"
            "  --ckpt-every STEPS   (default: end only); --keep K checkpoints kept (default 2)\n"
            "  --log FILE.h5        HDF5 run log; --arm NAME its arm (default train)\n"
            "  --seed N             init and data order (default 1234)\n"
            "  --resume             continue from the latest complete checkpoint in --ckpt-dir\n"
            "  --skip-nan           skip steps with a non-finite loss (counted) instead of stopping\n"
            "  --teacher DIR        distil from this HF model: loss = w_ce*CE + tau^2*KL(teacher||student)\n"
            "  --kd-temperature X   tau (default 1); --kd-w-ce X CE weight (default 0); --reverse-kl\n");
}

int hx_cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", 1, 0, 'c'},       {"init-from", 1, 0, 'i'},  {"train", 1, 0, 't'},  {"val", 1, 0, 'v'},
        {"tokens", 1, 0, 'n'},       {"seq-len", 1, 0, 'T'},    {"micro-batch", 1, 0, 'B'},
        {"grad-accum", 1, 0, 'K'},   {"lr", 1, 0, 'l'},         {"min-lr", 1, 0, 'm'}, {"schedule", 1, 0, 's'},
        {"warmup", 1, 0, 'w'},       {"wd", 1, 0, 'd'},         {"clip", 1, 0, 'C'},   {"eval-every", 1, 0, 'e'},
        {"eval-batches", 1, 0, 'E'}, {"ckpt-dir", 1, 0, 'o'},   {"ckpt-every", 1, 0, 'k'},
        {"keep", 1, 0, 'p'},         {"log", 1, 0, 'L'},        {"arm", 1, 0, 'a'},    {"seed", 1, 0, 'S'},
        {"resume", 0, 0, 'r'},       {"skip-nan", 0, 0, 'N'},   {"help", 0, 0, 'h'},
        {"teacher", 1, 0, 'x'},      {"kd-temperature", 1, 0, 'X'}, {"kd-w-ce", 1, 0, 'W'},
        {"reverse-kl", 0, 0, 'R'},   {0, 0, 0, 0},
    };
    hx_train_config c = hx_train_defaults();
    c.seq_len = 256;
    c.seed = 1234;
    c.schedule.peak_lr = 3e-4;
    double min_lr = -1;
    const char *config_path = NULL;
    int o;
    optind = 1;
    int rc = HX_OK;
    while (rc == HX_OK && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config_path = optarg; break;
        case 'i': c.init_from = optarg; break;
        case 't': c.train_data = optarg; break;
        case 'v': c.val_data = optarg; break;
        case 'n': rc = hx_opt_i64("tokens", optarg, 1, INT64_MAX, &c.token_budget); break;
        case 'T': rc = hx_opt_int("seq-len", optarg, 1, 1 << 24, &c.seq_len); break;
        case 'B': rc = hx_opt_int("micro-batch", optarg, 1, 1 << 20, &c.micro_batch); break;
        case 'K': rc = hx_opt_int("grad-accum", optarg, 1, 1 << 20, &c.grad_accum); break;
        case 'l': rc = hx_opt_double("lr", optarg, 0, INFINITY, &c.schedule.peak_lr); break;
        case 'm': rc = hx_opt_double("min-lr", optarg, 0, INFINITY, &min_lr); break;
        case 's': rc = hx_sched_kind_parse(optarg, &c.schedule.kind); break;
        case 'w': rc = hx_opt_i64("warmup", optarg, 0, INT64_MAX, &c.schedule.warmup); break;
        case 'd': rc = hx_opt_double("wd", optarg, 0, INFINITY, &c.adamw.weight_decay); break;
        case 'C': rc = hx_opt_double("clip", optarg, 0, INFINITY, &c.grad_clip); break;
        case 'e': rc = hx_opt_i64("eval-every", optarg, 0, INT64_MAX, &c.eval_every_tokens); break;
        case 'E': rc = hx_opt_int("eval-batches", optarg, 1, 1 << 30, &c.eval_batches); break;
        case 'o': c.ckpt_dir = optarg; break;
        case 'k': rc = hx_opt_i64("ckpt-every", optarg, 0, INT64_MAX, &c.ckpt_every_steps); break;
        case 'p': rc = hx_opt_int("keep", optarg, 1, 1 << 30, &c.keep_last); break;
        case 'L': c.log_path = optarg; break;
        case 'a': c.arm = optarg; break;
        case 'S': rc = hx_opt_u64("seed", optarg, &c.seed); break;
        case 'r': c.resume = 1; break;
        case 'N': c.nan_policy = HX_NAN_SKIP; break;
        case 'x': c.teacher = optarg; break;
        case 'X': rc = hx_opt_double("kd-temperature", optarg, 1e-6, INFINITY, &c.kd.temperature); break;
        case 'W': rc = hx_opt_double("kd-w-ce", optarg, 0, INFINITY, &c.kd.w_ce); break;
        case 'R': c.kd.reverse_kl = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (rc < 0) return hx_report(rc);
    if (optind < argc) {
        fprintf(stderr, "harness train: unexpected argument '%s'\n\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[0], "distill") && !c.teacher) {
        fprintf(stderr, "harness distill: --teacher DIR is required\n\n");
        usage(stderr);
        return 2;
    }
    if (!!config_path == !!c.init_from) {
        fprintf(stderr, "harness train: give exactly one of --config and --init-from\n\n");
        usage(stderr);
        return 2;
    }
    if (config_path) {
        rc = hx_config_load(config_path, &c.model);
        if (rc < 0) return hx_report(rc);
    }
    c.schedule.min_lr = min_lr >= 0 ? min_lr : c.schedule.peak_lr / 10;
    c.run_provenance = "(no manifest: harness train)"; /* this command owns its run log */
    hx_train_result r;
    rc = hx_train(&c, &r);
    if (rc < 0) return hx_report(rc);
    printf("trained %" PRId64 " steps, %" PRId64 " tokens (%" PRId64 " skipped steps); last loss %.4f", r.steps,
           r.tokens, r.skipped_steps, r.last_loss);
    if (c.val_data) printf(", val loss %.4f", r.last_val_loss);
    printf("; %.0f tokens/s\n", r.tokens_per_s);
    return 0;
}
