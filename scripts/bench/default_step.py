"""The project's default model training step (scripts/bench/default-model.ts) in PyTorch, served over
stdin/stdout like reference_step.py so that scripts/bench.ts can interleave it with the TensorFlow.js
stacks.

Usage: python3 default_step.py '<spec JSON>'  (the DefaultBatchSpec that default-model.ts builds: the
shapes, frame counts, transcripts, prompt ids and hyper-parameters, so both stacks do the same work).

The model, written plainly, with the same arithmetic as src/models (llm.ts, lora.ts, projector.ts,
compression.ts, avsr.ts) and src/pipeline/model.ts (AvsrTrainModel.loss):
  - a frozen Llama-style LM: RMSNorm, rotary embeddings (rotate-half), grouped-query attention
    (repeat_interleave of the KV heads) with a causal mask, SwiGLU MLP, pre-norm blocks, final norm,
    lm_head tied to the token embeddings; random init N(0, 0.02), o_proj/down_proj 0.02/sqrt(2L);
  - LoRA on q_proj and v_proj: y = W x + (alpha/r) * B A x, A kaiming-uniform, B zero;
  - the audio projector Linear(128, 256) -> ReLU -> Linear(256, 96) on rate-4 average-pooled features
    (ceil(T/4) tokens, the last window averaging the leftover frames); a video projector exists (the
    run's config has one) but ASR never uses it, so it gets no gradient and AdamW skips it;
  - per sample [BOS] <audio> A </audio> prompt transcript EOS, right-padded with zero embeddings. A
    right-padded row's valid queries never see its padding under the causal mask, so the mask is causal
    only (as in the TS model); padding and the prefix carry no loss;
  - the loss: mean cross-entropy at the transcript+EOS positions, the LM head applied at those rows
    only (as AvsrTrainModel);
  - AdamW (betas 0.9/0.98, eps 1e-8, wd 0.1) over the trainable parameters (projectors, LoRA), the
    warmup-cosine learning rate, gradient clipping at clipNorm.

Protocol (one JSON object per line on stdout):
  start        -> {"ready": true, "torch": version, "threads": n, "blas": ..., "tokens": positions/step,
                   "trainable": trainable parameter count}
  "step N"     -> {"ms": [N per-step wall times], "loss": [N losses before each update]}
  "quit"       -> exits
"""
import json
import math
import os
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

spec = json.loads(sys.argv[1])
threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
torch.set_num_threads(threads)
torch.manual_seed(spec["seed"])

L = spec["llm"]
D, NL, H, KVH, FFN, V = L["dim"], L["nLayers"], L["nHeads"], L["nKvHeads"], L["ffnDim"], L["vocabSize"]
HD = D // H
EPS = L["normEps"]
R, ALPHA = spec["lora"]["r"], spec["lora"]["alpha"]
RATE = spec["rate"]
SP = spec["special"]


class RMSNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


class LoraLinear(nn.Module):
    """A frozen bias-free linear layer plus a trainable rank-r update scaled by alpha / r."""

    def __init__(self, base: nn.Linear):
        super().__init__()
        self.base = base
        fan_in = base.in_features
        self.down = nn.Parameter(torch.empty(fan_in, R).uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in)))
        self.up = nn.Parameter(torch.zeros(R, base.out_features))
        self.scaling = ALPHA / R

    def forward(self, x):
        return self.base(x) + (x @ self.down @ self.up) * self.scaling


def rotate_half(x):
    x1, x2 = x[..., : HD // 2], x[..., HD // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = nn.Linear(D, H * HD, bias=False)
        self.k_proj = nn.Linear(D, KVH * HD, bias=False)
        self.v_proj = nn.Linear(D, KVH * HD, bias=False)
        self.o_proj = nn.Linear(H * HD, D, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, H, HD).transpose(1, 2)
        k = self.k_proj(x).view(B, T, KVH, HD).transpose(1, 2)
        v = self.v_proj(x).view(B, T, KVH, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if H != KVH:
            k = k.repeat_interleave(H // KVH, dim=1)
            v = v.repeat_interleave(H // KVH, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HD) + mask, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, H * HD)
        return self.o_proj(y)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(D, FFN, bias=False)
        self.up_proj = nn.Linear(D, FFN, bias=False)
        self.down_proj = nn.Linear(FFN, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = RMSNorm(D)
        self.self_attn = Attention()
        self.post_attention_layernorm = RMSNorm(D)
        self.mlp = Mlp()

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Llm(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(V, D)
        self.layers = nn.ModuleList([Block() for _ in range(NL)])
        self.norm = RMSNorm(D)
        inv = L["ropeTheta"] ** (-torch.arange(0, HD, 2, dtype=torch.float64) / HD)
        ang = torch.arange(L["maxSeqLen"], dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", torch.cat((ang.cos(), ang.cos()), -1).float())
        self.register_buffer("sin", torch.cat((ang.sin(), ang.sin()), -1).float())
        residual_std = 0.02 / math.sqrt(2 * NL)
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name == "norm.weight":
                continue
            nn.init.normal_(p, 0.0, residual_std if name.endswith(("o_proj.weight", "down_proj.weight")) else 0.02)

    def forward(self, x):
        T = x.shape[1]
        cos, sin = self.cos[:T], self.sin[:T]
        mask = torch.full((T, T), -1e9).triu(1)
        for blk in self.layers:
            x = blk(x, cos, sin, mask)
        return self.norm(x)


def projector(in_dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(in_dim, spec["projectorHidden"]), nn.ReLU(), nn.Linear(spec["projectorHidden"], D))


llm = Llm()
llm.requires_grad_(False)
for blk in llm.layers:
    for name in spec["lora"]["targets"]:
        owner = blk.self_attn if hasattr(blk.self_attn, name) else blk.mlp
        setattr(owner, name, LoraLinear(getattr(owner, name)))
audio_proj = projector(spec["audioDim"])
video_proj = projector(spec["videoDim"])
trainable = [p for p in list(llm.parameters()) + list(audio_proj.parameters()) + list(video_proj.parameters()) if p.requires_grad]
opt = torch.optim.AdamW(
    trainable,
    lr=spec["schedule"]["baseLr"],
    betas=(spec["adamw"]["beta1"], spec["adamw"]["beta2"]),
    eps=spec["adamw"]["eps"],
    weight_decay=spec["adamw"]["weightDecay"],
)

feats = [torch.randn(T, spec["audioDim"]) for T in spec["frames"]]
prompt = torch.tensor(spec["promptIds"], dtype=torch.long)
texts = [torch.tensor(t + [SP["eos"]], dtype=torch.long) for t in spec["transcripts"]]
head_ids = torch.tensor([SP["bos"], SP["audioStart"]], dtype=torch.long)
audio_end = torch.tensor([SP["audioEnd"]], dtype=torch.long)
tokens_per_step = sum(3 + math.ceil(T / RATE) + len(spec["promptIds"]) + len(t) for T, t in zip(spec["frames"], texts))


def avg_pool(f):
    """Rate-RATE average pooling over time; the last window averages the T mod RATE leftover frames."""
    T, Df = f.shape
    n = math.ceil(T / RATE)
    if n * RATE > T:
        f = torch.cat((f, f.new_zeros(n * RATE - T, Df)))
    counts = torch.full((n, 1), float(RATE))
    counts[-1] = T - (n - 1) * RATE
    return f.view(n, RATE, Df).sum(1) / counts


def cosine_lr(step: int) -> float:
    s = spec["schedule"]
    if step < s["warmupSteps"]:
        return step / s["warmupSteps"] * s["baseLr"]
    decay = max(1, s["totalSteps"] - s["warmupSteps"])
    return 0.5 * s["baseLr"] * (1 + math.cos(math.pi * min(step - s["warmupSteps"], decay) / decay))


def loss_fn():
    pooled = [avg_pool(f) for f in feats]
    spans = audio_proj(torch.cat(pooled)).split([p.shape[0] for p in pooled])
    emb = llm.embed_tokens
    seqs, rows, targets = [], [], []
    lmax = max(3 + s.shape[0] + len(prompt) + len(t) for s, t in zip(spans, texts))
    for b, (span, text) in enumerate(zip(spans, texts)):
        seqs.append(torch.cat((emb(head_ids), span, emb(audio_end), emb(prompt), emb(text))))
        prefix = 3 + span.shape[0] + len(prompt)
        rows.extend(b * lmax + prefix - 1 + k for k in range(len(text)))  # position prefix-1+k predicts text[k]
        targets.append(text)
    x = nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    hidden = llm(x).reshape(-1, D)[torch.tensor(rows)]
    return F.cross_entropy(hidden @ emb.weight.t(), torch.cat(targets))


updates = 0


def step():
    global updates
    t0 = time.perf_counter()
    updates += 1
    for g in opt.param_groups:
        g["lr"] = cosine_lr(updates)
    opt.zero_grad(set_to_none=True)
    loss = loss_fn()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainable, spec["clipNorm"])
    opt.step()
    value = loss.item()
    return (time.perf_counter() - t0) * 1000, value


def reply(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
reply({
    "ready": True,
    "torch": torch.__version__,
    "threads": threads,
    "blas": found.group(1) if found else "unknown",
    "tokens": tokens_per_step,
    "trainable": sum(p.numel() for p in trainable),
})
for line in sys.stdin:
    cmd = line.split()
    if not cmd or cmd[0] == "quit":
        break
    n = int(cmd[1]) if len(cmd) > 1 else 1
    if cmd[0] == "step":
        out = [step() for _ in range(n)]
        reply({"ms": [o[0] for o in out], "loss": [o[1] for o in out]})
    else:
        reply({"error": "unknown command " + cmd[0]})
