"""The Hugging Face Trainer with Runwatch's TrainerCallback: a 2-layer BERT built from a config (no
download) on random token ids, CPU only. The Trainer needs `accelerate` installed.

    python examples/transformers_example.py
With `--tensorboard` the Trainer also reports to TensorBoard; in a VS Code terminal, without the
callback (`--tensorboard --no-callback`), that TensorBoard output is captured instead.
"""

import argparse

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--tensorboard", action="store_true")
parser.add_argument("--no-callback", action="store_true")
args = parser.parse_args()


class RandomTokens(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 100, (n, 16), generator=g)
        self.labels = (self.ids[:, 0] > 50).long()  # learnable: the first token decides

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=32, num_labels=2)
model = BertForSequenceClassification(config)
training = TrainingArguments(output_dir="hf-example", max_steps=args.steps, per_device_train_batch_size=16,
                             logging_steps=5, eval_strategy="steps", eval_steps=20, save_strategy="no",
                             report_to=["tensorboard"] if args.tensorboard else [], use_cpu=True,
                             learning_rate=5e-4)
callbacks = []
if not args.no_callback:
    from runwatch.integrations.transformers import RunwatchCallback

    callbacks.append(RunwatchCallback(project="examples", name="bert-tiny"))
trainer = Trainer(model=model, args=training, train_dataset=RandomTokens(640, 0), eval_dataset=RandomTokens(64, 1),
                  callbacks=callbacks)
trainer.train()
trainer.evaluate()  # lands in the same run
