"""The continuous-thought model: any Hugging Face causal LM, wrapped to reason in latent space.

`CoconutModel` owns one idea (docs/method.md §1): at a thought position (`<|latent|>`), the input
embedding is the last-layer hidden state of the previous position. Thought i depends on thought
i-1, so a sequence with k thoughts needs k+1 forward passes; the KV cache carries every earlier
position, so no position is computed twice, and gradients flow back through every thought.

Pass layout. Let c_1 < ... < c_m be the columns that hold a thought in *any* row of the batch.
Pass 0 runs columns [0, c_1), pass j runs [c_j, c_{j+1}) and the last pass runs [c_m, T). Before
pass j, the rows whose column c_j is a thought take the last hidden state of pass j-1 there.
With the official collator's layout (first thoughts aligned, thoughts contiguous) this is exactly
the official schedule: the prefix, one position per thought, then the rest. It is also correct for
any other layout (e.g. left-padded generation prompts whose thought counts differ, where the
*last* thoughts align): a column may hold a thought in one row and an ordinary token in another;
the ordinary token simply gets computed one pass early, which changes nothing.

The model knows nothing of stages, epochs or data: it reads `input_ids` and fills thoughts
wherever `latent_token_id` appears.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from coconut_lm.constants import IGNORE_INDEX
from coconut_lm.model.attention_masks import PassMasks, prepared_format
from coconut_lm.model.generation import check_sampling, decode
from coconut_lm.model.kv_cache import branch_cache, cache_layout, is_full_attention, make_cache

OFFICIAL_PREFIX = "base_causallm."
"""Key prefix of state dicts saved by the official code (its wrapper's attribute name)."""


@dataclass
class CoconutOutput:
    """What `CoconutModel.forward` returns."""

    loss: torch.Tensor | None
    """Next-token cross-entropy over labels != -100 (mean, as the official code; or sum)."""
    logits: torch.Tensor
    """(B, T, V) logits of every position."""
    inputs_embeds: torch.Tensor
    """(B, T, H) input embeddings with the continuous thoughts filled in."""
    num_forward_passes: int
    """Forward passes of the base model this call made (number of thought columns + 1)."""


@dataclass
class PrefillOutput:
    """The multi-pass run over a prompt or a training sequence (internal)."""

    logits: torch.Tensor  # (B, T, V), or (B, 1, V) with last_logits_only
    inputs_embeds: torch.Tensor  # (B, T, H)
    thoughts: torch.Tensor  # (B, K, H): the vector fed in at each thought column (K columns)
    thought_mask: torch.Tensor  # (B, K): whether that column is a thought in that row
    num_passes: int


def positions_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids implied by a left-padded attention mask: 0 at each row's first real token."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)  # (B, T)


class CoconutModel(nn.Module):
    """A causal LM that reasons with continuous thoughts.

    Args:
        base_model: any `transformers` causal LM (`AutoModelForCausalLM`); reachable as `.base_model`.
        latent_token_id: id of `<|latent|>`, the thought placeholder.
        start_latent_id: id of `<|start-latent|>` (`<bot>`).
        end_latent_id: id of `<|end-latent|>` (`<eot>`).
        eos_token_id: id that ends generation.

    Example:
        >>> model = CoconutModel(AutoModelForCausalLM.from_pretrained(path), latent, bot, eot, eos)
        >>> out = model(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])
        >>> out.loss.backward()
    """

    def __init__(
        self,
        base_model: nn.Module,
        latent_token_id: int,
        start_latent_id: int,
        end_latent_id: int,
        eos_token_id: int,
    ):
        super().__init__()
        self.base_model = base_model
        self.latent_token_id = int(latent_token_id)
        self.start_latent_id = int(start_latent_id)
        self.end_latent_id = int(end_latent_id)
        self.eos_token_id = int(eos_token_id)
        params = inspect.signature(base_model.forward).parameters
        # transformers 5 renamed `past_key_values` to `cache`; accept either spelling.
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        self._supports_logits_to_keep = "logits_to_keep" in params
        self._full_attention = is_full_attention(base_model.config)
        # KV cache layout (kv_cache.py): "whole" (attention sees the whole preallocated buffer:
        # static shapes and aligned key tiles, for GPU kernels and CUDA graphs), "prefix" (the
        # columns written so far: fewer keys, faster on CPU), or "auto" (whole on CUDA only).
        self.kv_layout = "auto"
        # How the thoughts of a call are computed: "sequential" (thought i from thought i-1's
        # hidden state: one pass per thought column) or "jacobi" (every thought column at once,
        # `jacobi_iterations` times; see `_jacobi_prefill`).
        self.thought_update = "sequential"
        self.jacobi_iterations = 3
        # Whether a thought is fed back rescaled to the mean norm of the input embeddings
        # (`thought_input`); off, as in the paper.
        self.rescale_thoughts = False

    @property
    def config(self):
        return self.base_model.config

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, H) input embeddings of the base model."""
        return self.base_model.get_input_embeddings()(input_ids)

    def thought_input(self):
        """The map from (..., H) last hidden states to the input embeddings fed at the next thought
        columns, for one call (the target norm is computed once per call, not per pass).

        The paper feeds the hidden state as it is. With `rescale_thoughts` each is rescaled to
        the mean norm of the input-embedding rows (a constant of the step: no gradient flows into
        the embeddings through it), so a thought enters the residual stream at the scale of a
        token: in small models trained from scratch the final-norm output is tens of times larger
        than any embedding and drowns what the lower layers add at the thought's position.
        """
        if not self.rescale_thoughts:
            return lambda hidden: hidden
        target = self.base_model.get_input_embeddings().weight.detach().float().norm(dim=-1).mean()

        def rescale(hidden: torch.Tensor) -> torch.Tensor:
            scale = target / hidden.float().norm(dim=-1, keepdim=True).clamp_min(1e-6)
            return hidden * scale.to(hidden.dtype)

        return rescale

    def _mask_format(self) -> str | None:
        """The format of the masks we prepare, or None where `transformers` builds its own (other
        attention implementations; other layouts: sliding windows, ...)."""
        if not self._full_attention:
            return None
        return prepared_format(getattr(self.config, "_attn_implementation", None))

    def new_cache(self, columns: int):
        """An empty KV cache (the `transformers` `Cache` API) for a call over `columns` positions."""
        whole = self.kv_layout == "whole" or (
            self.kv_layout == "auto" and self.base_model.get_input_embeddings().weight.device.type == "cuda"
        )
        return make_cache(self.base_model.config, columns, whole_buffer=whole and self._mask_format() is not None)

    def pass_masks(self, key_mask: torch.Tensor, cache) -> PassMasks:
        """The attention masks of a call over (B, K) `key_mask` with `cache` (from `new_cache(K)`;
        any other `transformers` cache gets the 2D mask, from which transformers builds its own)."""
        layout = cache_layout(cache)
        mask_format = self._mask_format() if layout is not None else None
        embedding = self.base_model.get_input_embeddings().weight
        return PassMasks(key_mask, mask_format, embedding.dtype, layout or "prefix")

    def base_forward(self, cache, last_logits_only: bool = False, **kwargs):
        """One call of the base model that extends `cache` in place."""
        kwargs[self._cache_kwarg] = cache
        if last_logits_only and self._supports_logits_to_keep:
            kwargs["logits_to_keep"] = 1
        return self.base_model(use_cache=True, **kwargs)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        reduction: str = "mean",
    ) -> CoconutOutput:
        """Multi-pass forward over (B, T) sequences with thoughts at `<|latent|>` positions.

        `position_ids` defaults to what the (left-padded) attention mask implies. `reduction`
        "sum" returns the summed token loss, for exact gradient accumulation across batches.
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if position_ids is None:
            position_ids = positions_from_mask(attention_mask)
        run = self.prefill(input_ids, attention_mask, position_ids, self.new_cache(input_ids.shape[1]))
        loss = None
        if labels is not None:
            loss = next_token_loss(run.logits, labels, reduction)
        return CoconutOutput(loss, run.logits, run.inputs_embeds, run.num_passes)

    def prefill(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        cache,
        last_logits_only: bool = False,
        masks: PassMasks | None = None,
    ) -> PrefillOutput:
        """Run the passes over (B, T) `input_ids`, filling thoughts, and fill `cache`.

        `masks` (default: built from `attention_mask`) may cover more columns, for generation.
        """
        if masks is None:
            masks = self.pass_masks(attention_mask, cache)
        is_latent = input_ids == self.latent_token_id  # (B, T)
        # The one host sync of the call: how many passes this batch needs.
        columns = is_latent.any(0).nonzero().flatten().tolist()
        if columns and columns[0] == 0:
            raise ValueError("a thought in column 0 has no previous position to take a hidden state from")
        bounds = [0, *columns, input_ids.shape[1]]
        embeds = self.embed(input_ids)  # (B, T, H)
        if self.thought_update == "jacobi" and columns:
            return self._jacobi_prefill(embeds, is_latent, columns, position_ids, cache, masks, last_logits_only)
        # One split, not a slice per pass: its backward is one concatenation, where slices
        # would each fill a (B, T, H) gradient with zeros.
        chunks = embeds.split([end - start for start, end in zip(bounds[:-1], bounds[1:])], dim=1)
        pass_embeds, logits, thoughts = [], [], []
        hidden = None  # (B, H): last hidden state of the previous pass
        feed = self.thought_input()
        for start, end, x in zip(bounds[:-1], bounds[1:], chunks):  # x: (B, t, H)
            if start > 0:  # `start` is a thought column: feed the previous hidden state back
                thoughts.append(hidden)
                first = torch.where(is_latent[:, start, None], feed(hidden).to(x.dtype), x[:, 0])
                x = torch.cat([first[:, None], x[:, 1:]], dim=1)
            out = self.base_forward(
                cache,
                last_logits_only=last_logits_only,
                inputs_embeds=x,
                attention_mask=masks(start, end),
                position_ids=position_ids[:, start:end],
                output_hidden_states=True,
            )
            hidden = out.hidden_states[-1][:, -1]  # (B, H)
            pass_embeds.append(x)
            logits.append(out.logits)
        if last_logits_only:
            all_logits = logits[-1][:, -1:]  # (B, 1, V)
        else:
            all_logits = torch.cat(logits, dim=1)  # (B, T, V)
        batch, dim = embeds.shape[0], embeds.shape[-1]
        return PrefillOutput(
            logits=all_logits,
            inputs_embeds=torch.cat(pass_embeds, dim=1),
            thoughts=torch.stack(thoughts, 1) if thoughts else embeds.new_zeros(batch, 0, dim),
            thought_mask=is_latent[:, columns],
            num_passes=len(bounds) - 1,
        )

    def _jacobi_prefill(self, embeds, is_latent, columns, position_ids, cache, masks, last_logits_only):
        """The thoughts of a call by Jacobi iteration (parallel continuous thoughts, as PCCoT).

        The block of thought columns [first, last) is computed `jacobi_iterations` (T) times over
        the prefix's cache. At every iteration a row's first thought takes the last hidden state of
        the column before it (exact, as in the sequential update), and each later thought the last
        hidden state of the column before it from the previous iteration (at the first iteration:
        its `<|latent|>` embedding), each through `thought_input`. The last iteration runs on into
        the rest of the sequence and fills `cache`; the others attend to the prefix through a branch
        of it and leave it as it was. Gradients flow through every iteration. After T iterations a
        row's first T thoughts equal the sequential ones: T = the most thoughts of a row reproduces
        the sequential result in as many passes (k + 1). Rows are independent (batched == single):
        when some row's thoughts start after the block's first column (left-padded prompts with
        different thought counts), one more pass computes the states that feed their first thought.
        """
        if not self._full_attention:
            raise ValueError("jacobi thought updates need a model whose layers all attend to every earlier position")
        first, last, total = columns[0], columns[-1] + 1, embeds.shape[1]
        prefix_x, block_x, rest_x = embeds.split([first, last - first, total - last], dim=1)
        out = self.base_forward(
            cache,
            last_logits_only=last_logits_only,
            inputs_embeds=prefix_x,
            attention_mask=masks(0, first),
            position_ids=position_ids[:, :first],
            output_hidden_states=True,
        )
        prefix_logits = out.logits
        entry = out.hidden_states[-1][:, -1:].to(block_x.dtype)  # (B, 1, H): the state before column `first`
        slots = is_latent[:, first:last, None]  # (B, m, 1) thought columns of the block
        starts = slots & ~F.pad(slots[:, :-1], (0, 0, 1, 0))  # (B, m, 1) each row's first thought
        later_start = bool(starts[:, 1:].any())  # a row whose thoughts start after column `first`
        branch_masks = masks  # a prefix-layout mask fits the branch's keys as it is
        if masks.whole and (later_start or self.jacobi_iterations > 1):
            branch_masks = PassMasks(masks.key_mask, masks.format, embeds.dtype, "prefix")
        passes = 2

        def block_pass(x: torch.Tensor) -> torch.Tensor:
            """(B, m, H) state of the column before each block column, from a pass over `x`."""
            hidden = self.base_forward(
                branch_cache(cache, self.config),
                last_logits_only=True,
                inputs_embeds=x,
                attention_mask=branch_masks(first, last),
                position_ids=position_ids[:, first:last],
                output_hidden_states=True,
            ).hidden_states[-1]
            return torch.cat([entry, hidden[:, :-1].to(block_x.dtype)], dim=1)

        previous = torch.cat([entry, block_x[:, 1:]], dim=1)  # (B, m, H)
        entries = previous
        if later_start:  # its entry state first
            entries = block_pass(block_x)
            passes += 1
        feed = self.thought_input()
        for _ in range(self.jacobi_iterations - 1):
            previous = block_pass(torch.where(starts, feed(entries), torch.where(slots, feed(previous), block_x)))
            passes += 1
        x = torch.where(starts, feed(entries), torch.where(slots, feed(previous), block_x))
        out = self.base_forward(
            cache,
            last_logits_only=last_logits_only,
            inputs_embeds=torch.cat([x, rest_x], dim=1),
            attention_mask=masks(first, total),
            position_ids=position_ids[:, first:],
            output_hidden_states=True,
        )
        offsets = [c - first for c in columns]
        fed = torch.where(starts, entries, previous)  # (B, m, H) the state fed in at each column
        return PrefillOutput(
            logits=out.logits[:, -1:] if last_logits_only else torch.cat([prefix_logits, out.logits], dim=1),
            inputs_embeds=torch.cat([prefix_x, x, rest_x], dim=1),
            thoughts=fed[:, offsets],
            thought_mask=is_latent[:, columns],
            num_passes=passes,
        )

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        max_new_tokens: int = 16,
        return_dict: bool = False,
        stop_check_every: int = 4,
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        generator: torch.Generator | None = None,
    ):
        """Greedy (temperature 0, the default) or sampled decoding for a left-padded batch of prompts.

        A Coconut prompt ends with `<bot> <latent>*k <eot>` (k may differ per row); the thoughts
        are computed first, then tokens are decoded with the KV cache until every row has emitted
        EOS or `max_new_tokens` are out. Returns (B, T + n) ids: the prompt, then the new tokens,
        rows that finished early padded with EOS. With `return_dict`, a `GenerateOutput` that
        also holds the thought vectors and the number of forward passes.

        `stop_check_every`: decode steps between checks that every row is done (each check is a
        host sync; rows that are done keep receiving EOS in between, and the result is trimmed).

        `temperature` > 0 samples each token from softmax(logits / temperature) within the `top_p`
        nucleus (`generation.choose_tokens`); `generator` (on the model's device) makes it
        reproducible. The thoughts are the same either way: only the tokens after them are drawn.

            >>> g = torch.Generator().manual_seed(0)
            >>> model.generate(ids.repeat(8, 1), mask.repeat(8, 1), 32, temperature=0.7, top_p=0.95, generator=g)
        """
        check_sampling(temperature, top_p)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        position_ids = positions_from_mask(attention_mask)
        cache = self.new_cache(input_ids.shape[1] + max_new_tokens)
        new_columns = attention_mask.new_ones(attention_mask.shape[0], max_new_tokens)
        masks = self.pass_masks(torch.cat([attention_mask, new_columns], dim=1), cache)  # (B, T + n)
        run = self.prefill(input_ids, attention_mask, position_ids, cache, last_logits_only=True, masks=masks)
        new_tokens, num_steps = decode(
            self,
            cache,
            first_logits=run.logits[:, -1],
            masks=masks,
            prompt_length=input_ids.shape[1],
            next_position=position_ids[:, -1] + 1,
            max_new_tokens=max_new_tokens,
            eos_token_id=self.eos_token_id,
            stop_check_every=stop_check_every,
            temperature=temperature,
            top_p=top_p,
            generator=generator,
        )
        sequences = torch.cat([input_ids, new_tokens], dim=1)
        if not return_dict:
            return sequences
        return GenerateOutput(
            sequences=sequences,
            thoughts=run.thoughts,
            thought_mask=run.thought_mask,
            num_thoughts=(input_ids == self.latent_token_id).sum(1),
            num_forward_passes=run.num_passes + num_steps,
        )

    @torch.no_grad()
    def generate_adaptive(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        stop_head: nn.Module,
        max_thoughts: int,
        max_new_tokens: int = 16,
        stop_check_every: int = 4,
    ) -> GenerateOutput:
        """Greedy decoding where the model decides when to stop thinking, row by row.

        `input_ids`: left-padded prompts that end with `<bot>`. Every step is one pass over one
        new column for the whole batch: a row that is thinking feeds back its last hidden state;
        after each thought `stop_head` (states -> logits) decides whether it was the last (a
        positive logit; `max_thoughts` at the most, one at the least); that row then gets `<eot>`
        and decodes its answer while the others go on thinking. No per-row host sync: whether
        every row is done is checked every `stop_check_every` steps. The new columns hold
        `<latent>`*k, `<eot>`, the answer (EOS after a row's own EOS).
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        batch, length = input_ids.shape
        budget = max_thoughts + 1 + max_new_tokens
        position_ids = positions_from_mask(attention_mask)
        cache = self.new_cache(length + budget)
        masks = self.pass_masks(torch.cat([attention_mask, attention_mask.new_ones(batch, budget)], 1), cache)
        out = self.base_forward(
            cache,
            last_logits_only=True,
            input_ids=input_ids,
            attention_mask=masks(0, length),
            position_ids=position_ids,
            output_hidden_states=True,
        )
        hidden, logits = out.hidden_states[-1][:, -1], out.logits[:, -1]  # (B, H), (B, V)
        device = input_ids.device
        thinking = torch.full((batch,), max_thoughts > 0, dtype=torch.bool, device=device)
        token = torch.full((batch,), self.end_latent_id, dtype=torch.long, device=device)  # when not thinking
        num_thoughts = torch.zeros(batch, dtype=torch.long, device=device)
        new = torch.full((batch, budget), self.eos_token_id, dtype=torch.long, device=device)
        thoughts, thought_mask = [], []
        feed = self.thought_input()
        position = position_ids[:, -1:] + 1  # (B, 1)
        passes, recorded, done = 1, 0, torch.zeros(batch, dtype=torch.bool, device=device)
        for step in range(budget):
            new[:, step] = torch.where(thinking, torch.full_like(token, self.latent_token_id), token)
            recorded = step + 1
            if recorded == budget or (recorded % stop_check_every == 0 and bool(done.all())):
                break
            thoughts.append(hidden)
            thought_mask.append(thinking)
            embedded = self.embed(token)  # (B, H)
            x = torch.where(thinking[:, None], feed(hidden).to(embedded.dtype), embedded)
            out = self.base_forward(
                cache,
                last_logits_only=True,
                inputs_embeds=x[:, None],
                attention_mask=masks(length + step, length + step + 1),
                position_ids=position,
                output_hidden_states=True,
            )
            passes += 1
            was_thinking = thinking
            num_thoughts = num_thoughts + was_thinking.long()
            hidden, logits = out.hidden_states[-1][:, -1], out.logits[:, -1]
            stop = was_thinking & ((num_thoughts >= max_thoughts) | (stop_head(hidden) > 0))
            thinking = was_thinking & ~stop
            decoded = torch.where(done, torch.full_like(token, self.eos_token_id), logits.argmax(-1))
            token = torch.where(stop, torch.full_like(token, self.end_latent_id), decoded)
            done = done | (~was_thinking & (token == self.eos_token_id))
            position = position + 1
        # A row's answer gets `max_new_tokens` columns after its `<eot>` (column num_thoughts).
        column = torch.arange(budget, device=device)[None]
        new = new.masked_fill(column > num_thoughts[:, None] + max_new_tokens, self.eos_token_id)
        thought_columns = torch.stack(thought_mask, 1) if thought_mask else thinking[:, None] & False
        keep = thought_columns.any(0).nonzero().flatten().tolist()  # thoughts fill the first columns
        return GenerateOutput(
            sequences=torch.cat([input_ids, new[:, :recorded]], dim=1),
            thoughts=torch.stack(thoughts, 1)[:, keep] if keep else hidden.new_zeros(batch, 0, hidden.shape[-1]),
            thought_mask=thought_columns[:, keep],
            num_thoughts=num_thoughts,
            num_forward_passes=passes,
        )

    def load_official_state_dict(self, state_dict: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Load a state dict saved by the official code (keys `base_causallm.*`).

        The official wrapper also registers the input embedding as `embedding`, so its state
        dict holds `embedding.weight`, a copy of the base model's; it is checked and dropped.
        Plain base-model state dicts (no prefix) are accepted too.
        """
        if any(k.startswith(OFFICIAL_PREFIX) for k in state_dict):
            base = {k[len(OFFICIAL_PREFIX) :]: v for k, v in state_dict.items() if k.startswith(OFFICIAL_PREFIX)}
            others = sorted(k for k in state_dict if not k.startswith(OFFICIAL_PREFIX) and k != "embedding.weight")
            if others and strict:
                raise KeyError(f"unexpected keys in the official state dict: {others[:5]}")
        else:
            base = dict(state_dict)
        missing, unexpected = self.base_model.load_state_dict(base, strict=False)
        tied = self._tied_output_keys()
        missing = [k for k in missing if k not in tied]
        if strict and (missing or unexpected):
            raise KeyError(
                f"state dict does not fit the base model: missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
        if "embedding.weight" in state_dict:
            ours = self.base_model.get_input_embeddings().weight
            if not torch.equal(state_dict["embedding.weight"].to(ours.dtype).cpu(), ours.detach().cpu()):
                raise ValueError("official `embedding.weight` differs from the base model's input embedding")

    def _tied_output_keys(self) -> set[str]:
        """State-dict keys of an output embedding tied to the input one (may be absent when saved)."""
        out = self.base_model.get_output_embeddings()
        if out is None or out.weight is not self.base_model.get_input_embeddings().weight:
            return set()
        names = {n for n, p in self.base_model.named_parameters(remove_duplicate=False) if p is out.weight}
        inputs = {n for n, m in self.base_model.named_modules() if m is self.base_model.get_input_embeddings()}
        return {n for n in names if n.rsplit(".", 1)[0] not in inputs}


@dataclass
class GenerateOutput:
    """What `CoconutModel.generate(..., return_dict=True)` returns."""

    sequences: torch.Tensor
    """(B, T + n): the prompt followed by the new tokens (EOS after a row finished)."""
    thoughts: torch.Tensor
    """(B, K, H): the vector fed in at each of the K thought columns of the batch."""
    thought_mask: torch.Tensor
    """(B, K): whether that column is a thought in that row (prompts end-aligned: a row's
    thoughts are its last `num_thoughts` columns)."""
    num_thoughts: torch.Tensor
    """(B,): thoughts in each prompt."""
    num_forward_passes: int
    """Forward passes of the base model: prompt passes plus decode steps."""


def next_token_loss(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of position t's logits against label t+1, over labels != -100.

    `logits` (B, T, V), `labels` (B, T). "mean" is the official loss; "sum" lets a trainer divide
    by the number of target tokens of a whole accumulated batch.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    shift_logits = logits[:, :-1].float()  # (B, T-1, V)
    shift_labels = labels[:, 1:].to(logits.device)  # (B, T-1)
    return F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]),
        shift_labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction=reduction,
    )
