/* `harness train` and `harness distill`: hx_train (train/trainer.h) from
 * the command line; distill is train with a required --teacher. */
#include "core/args.h"    // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"    // defines: hx_cmd_train
#include "core/dist.h"   // defines: hx_dist_rank
#include "core/err.h"    // defines: hx_report
#include "model/weights.h" // defines: hx_config_load
#include "train/trainer.h" // defines: hx_train_config, hx_train

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int hx_cmd_train(int argc, char **argv)
{
    int distill = !strcmp(argv[0], "distill");
    hx_train_config c = hx_train_defaults();
    c.seq_len = 256;
    c.seed = 1234;
    c.schedule.peak_lr = 3e-4;
    double min_lr = -1;
    const char *config_path = NULL;
    int schedule = c.schedule.kind, skip_nan = 0;
    hx_arg args[] = {
        {"config", HX_ARG_STR, &config_path, "FILE", "model config.json; random init from --seed"},
        {"init-from", HX_ARG_STR, &c.init_from, "DIR", "start from a Hugging Face model directory"},
        {"train", HX_ARG_STR, &c.train_data, "SPEC", "token shards: directory, glob or .hxs file", .required = 1},
        {"val", HX_ARG_STR, &c.val_data, "SPEC", "validation shards (val loss every --eval-every tokens and at the end)"},
        {"tokens", HX_ARG_COUNT, &c.token_budget, "N", "token budget (a multiple of micro-batch x seq-len)", 1, 9e18,
         .required = 1},
        {"seq-len", HX_ARG_INT, &c.seq_len, "T", "tokens per sequence", 1, 1 << 24},
        {"micro-batch", HX_ARG_INT, &c.micro_batch, "B", "sequences per micro-batch", 1, 1 << 20},
        {"grad-accum", HX_ARG_INT, &c.grad_accum, "K", "micro-batches per optimizer step", 1, 1 << 20},
        {"lr", HX_ARG_DOUBLE, &c.schedule.peak_lr, NULL, "peak learning rate", 0, 1e9},
        {"min-lr", HX_ARG_DOUBLE, &min_lr, NULL, "final learning rate (default: peak / 10)", 0, 1e9},
        {"schedule", HX_ARG_ENUM, &schedule, "S", "learning-rate schedule", .names = hx_sched_names},
        {"warmup", HX_ARG_COUNT, &c.schedule.warmup, "STEPS", "warm-up steps", 0, 9e18},
        {"wd", HX_ARG_DOUBLE, &c.adamw.weight_decay, NULL, "AdamW weight decay", 0, 1e9},
        {"clip", HX_ARG_DOUBLE, &c.grad_clip, NULL, "global gradient-norm clip (0: none)", 0, 1e30},
        {"eval-every", HX_ARG_COUNT, &c.eval_every_tokens, "N", "tokens between validations (0: at the end only)", 0,
         9e18},
        {"eval-batches", HX_ARG_INT, &c.eval_batches, "N", "validation micro-batches", 1, 1 << 30},
        {"ckpt-dir", HX_ARG_STR, &c.ckpt_dir, "DIR", "checkpoints (step-XXXXXXXX/ HF dirs + optimizer state)"},
        {"ckpt-every", HX_ARG_COUNT, &c.ckpt_every_steps, "STEPS", "steps between checkpoints (0: at the end only)",
         0, 9e18},
        {"keep", HX_ARG_INT, &c.keep_last, "K", "checkpoints kept", 1, 1 << 30},
        {"log", HX_ARG_STR, &c.log_path, "FILE.h5", "HDF5 run log"},
        {"arm", HX_ARG_STR, &c.arm, "NAME", "the run log's arm"},
        {"seed", HX_ARG_U64, &c.seed, NULL, "init and data order"},
        {"resume", HX_ARG_FLAG, &c.resume, "", "continue from the latest complete checkpoint in --ckpt-dir", .set = 1},
        {"stop-after", HX_ARG_COUNT, &c.stop_after_steps, "STEPS",
         "stop with a checkpoint after this step, as if interrupted (--resume continues)", 0, 9e18},
        {"no-zero1", HX_ARG_FLAG, &c.no_zero1, "",
         "with several ranks (mpirun/srun), keep the whole AdamW state on every rank instead of sharding it (ZeRO-1)",
         .set = 1},
        {"skip-nan", HX_ARG_FLAG, &skip_nan, "", "skip steps with a non-finite loss (counted) instead of stopping",
         .set = 1},
        {"teacher", HX_ARG_STR, &c.teacher, "DIR",
         "distil from this HF model: loss = w_ce*CE + tau^2*KL(teacher||student)", .required = distill},
        {"kd-temperature", HX_ARG_DOUBLE, &c.kd.temperature, "TAU", "KD temperature", 1e-6, 1e9},
        {"kd-w-ce", HX_ARG_DOUBLE, &c.kd.w_ce, NULL, "weight of the cross-entropy term (default 0)", 0, 1e9},
        {"reverse-kl", HX_ARG_FLAG, &c.kd.reverse_kl, "", "KL(student||teacher) instead", .set = 1},
        {"device", HX_ARG_ENUM, &c.device, NULL,
         "auto (a GPU when this build has the CUDA tier and one is present), cpu or cuda", .names = hx_device_names},
        {"recompute", HX_ARG_FLAG, &c.recompute, "", "CUDA tier: recompute activations in the backward", .set = 1},
        {"teacher-bf16", HX_ARG_FLAG, &c.kd.teacher_bf16, "", "the teacher's forward passes in bf16 (AVX512-BF16 CPUs)",
         .set = 1},
        {NULL},
    };
    hx_cli cli = {distill ? "distill" : "train",
                  distill ? "Trains a (pruned) student by distilling a teacher's logits (Minitron sec. 3)."
                          : "Trains a model on token shards from a random init or a checkpoint; resumable.",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    if (!!config_path == !!c.init_from) return hx_cli_fail(&cli, "give exactly one of --config and --init-from");
    c.schedule.kind = (hx_sched_kind)schedule;
    c.nan_policy = skip_nan ? HX_NAN_SKIP : c.nan_policy;
    if (min_lr < 0) min_lr = c.schedule.peak_lr / 10;
    c.schedule.min_lr = min_lr;
    if (hx_dist_rank() == 0) hx_cli_settings(&cli, stderr); /* rank 0 speaks for the job */
    int rc0 = hx_device_resolve(c.device, &c.device);
    if (rc0 < 0) return hx_report(rc0);
    if (config_path) {
        int rc = hx_config_load(config_path, &c.model);
        if (rc < 0) return hx_report(rc);
    }
    c.run_provenance = "(no manifest: harness train)"; /* this command owns its run log */
    hx_train_result r;
    int rc = hx_train(&c, &r);
    if (rc < 0) return hx_report(rc);
    if (hx_dist_rank() != 0) return 0;
    printf("trained %" PRId64 " steps, %" PRId64 " tokens (%" PRId64 " skipped steps); last loss %.4f", r.steps,
           r.tokens, r.skipped_steps, r.last_loss);
    if (c.val_data) printf(", val loss %.4f", r.last_val_loss);
    printf("; %.0f tokens/s\n", r.tokens_per_s);
    return 0;
}
