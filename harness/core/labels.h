/* Label conventions shared by every floor. */
#ifndef HX_CORE_LABELS_H
#define HX_CORE_LABELS_H

/* Targets equal to this are not scored (torch.nn.CrossEntropyLoss's default
 * ignore_index; HF causal-LM losses use it for the last position). */
#define HX_IGNORE_INDEX (-100)

#endif
