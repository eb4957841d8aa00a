/* `bin/harness train`: command-line front end of hx_train. */
#include "core/err.h"
#include "model/weights.h"
#include "train/trainer.h"

#include <getopt.h>
#include <inttypes.h>
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
            "  --skip-nan           skip steps with a non-finite loss (counted) instead of stopping\n");
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
        {"resume", 0, 0, 'r'},       {"skip-nan", 0, 0, 'N'},   {"help", 0, 0, 'h'},   {0, 0, 0, 0},
    };
    hx_train_config c = hx_train_defaults();
    c.seq_len = 256;
    c.seed = 1234;
    c.schedule.peak_lr = 3e-4;
    double min_lr = -1;
    const char *config_path = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config_path = optarg; break;
        case 'i': c.init_from = optarg; break;
        case 't': c.train_data = optarg; break;
        case 'v': c.val_data = optarg; break;
        case 'n': c.token_budget = strtoll(optarg, NULL, 10); break;
        case 'T': c.seq_len = atoi(optarg); break;
        case 'B': c.micro_batch = atoi(optarg); break;
        case 'K': c.grad_accum = atoi(optarg); break;
        case 'l': c.schedule.peak_lr = atof(optarg); break;
        case 'm': min_lr = atof(optarg); break;
        case 's':
            if (hx_sched_kind_parse(optarg, &c.schedule.kind) < 0) return hx_report(HX_EINVAL);
            break;
        case 'w': c.schedule.warmup = strtoll(optarg, NULL, 10); break;
        case 'd': c.adamw.weight_decay = atof(optarg); break;
        case 'C': c.grad_clip = atof(optarg); break;
        case 'e': c.eval_every_tokens = strtoll(optarg, NULL, 10); break;
        case 'E': c.eval_batches = atoi(optarg); break;
        case 'o': c.ckpt_dir = optarg; break;
        case 'k': c.ckpt_every_steps = strtoll(optarg, NULL, 10); break;
        case 'p': c.keep_last = atoi(optarg); break;
        case 'L': c.log_path = optarg; break;
        case 'a': c.arm = optarg; break;
        case 'S': c.seed = strtoull(optarg, NULL, 10); break;
        case 'r': c.resume = 1; break;
        case 'N': c.nan_policy = HX_NAN_SKIP; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!!config_path == !!c.init_from) {
        fprintf(stderr, "harness train: give exactly one of --config and --init-from\n\n");
        usage(stderr);
        return 2;
    }
    if (config_path) {
        int rc = hx_config_load(config_path, &c.model);
        if (rc < 0) return hx_report(rc);
    }
    c.schedule.min_lr = min_lr >= 0 ? min_lr : c.schedule.peak_lr / 10;
    hx_train_result r;
    int rc = hx_train(&c, &r);
    if (rc < 0) return hx_report(rc);
    printf("trained %" PRId64 " steps, %" PRId64 " tokens (%" PRId64 " skipped steps); last loss %.4f", r.steps,
           r.tokens, r.skipped_steps, r.last_loss);
    if (c.val_data) printf(", val loss %.4f", r.last_val_loss);
    printf("; %.0f tokens/s\n", r.tokens_per_s);
    return 0;
}
