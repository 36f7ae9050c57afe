"""Writes a Hugging Face Llama-2-style tokenizer.json (+ tokenizer_config.json) from a
SentencePiece tokenizer.model, for the tokenizer.json loader test.

The layout follows what Hugging Face's Llama conversion produces: a BPE model with byte
fallback whose merges list, for every piece, each way of splitting it into two vocabulary
pieces, ordered by the merged piece's score (best first, vocabulary order among equals).

usage: make_hf_tokenizer_json.py MODEL OUT_DIR [--merge-pairs] [--metaspace] [--add-eos]
Exit status 77 when python3-sentencepiece is missing (the test then skips).
"""
import json
import os
import sys

try:
    import sentencepiece as spm
except ImportError:
    print("python3-sentencepiece is not installed", file=sys.stderr)
    sys.exit(77)

SPACE = "\u2581"


def merges_of(sp, pieces, ids):
    """(left, right) pairs for every piece, best-scoring merged piece first."""
    ranked = []
    for i, piece in enumerate(pieces):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i):
            continue
        halves = []
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in ids and right in ids:
                halves.append((ids[left], ids[right], left, right))
        for _, _, left, right in sorted(halves):
            ranked.append((-sp.get_score(i), i, left, right))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [(left, right) for _, _, left, right in ranked]


def added_token(i, content):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def main():
    model, out_dir = sys.argv[1], sys.argv[2]
    flags = set(sys.argv[3:])
    sp = spm.SentencePieceProcessor(model_file=model)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    ids = {p: i for i, p in enumerate(pieces)}
    merges = merges_of(sp, pieces, ids)
    unk, bos, eos = sp.unk_id(), sp.bos_id(), sp.eos_id()

    if "--metaspace" in flags:
        normalizer = None
        pre_tokenizer = {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "first", "split": False}
        decoder = {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "first", "split": False}
    else:
        normalizer = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]}
        pre_tokenizer = None
        decoder = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}

    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(unk, pieces[unk]), added_token(bos, pieces[bos]), added_token(eos, pieces[eos])],
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": pieces[bos], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": pieces[bos], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": pieces[bos], "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {pieces[bos]: {"id": pieces[bos], "ids": [bos], "tokens": [pieces[bos]]}},
        },
        "decoder": decoder,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": pieces[unk],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "vocab": ids,
            "merges": [[l, r] for l, r in merges] if "--merge-pairs" in flags else [f"{l} {r}" for l, r in merges],
        },
    }
    config = {
        "add_bos_token": True,
        "add_eos_token": "--add-eos" in flags,
        "bos_token": {"__type": "AddedToken", "content": pieces[bos], "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False},
        "eos_token": pieces[eos],
        "unk_token": pieces[unk],
        "clean_up_tokenization_spaces": False,
        "legacy": False,
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": None,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=2)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
