// Datasets: LimaRP conversations render into the exact prompt format with names substituted
// and (length = LEVEL) headers; the loss mask covers exactly the character's replies (and the
// final EOS) at token level with the real Llama-2 tokenizer, turn_end_weight weighs the
// token ending each reply, and stop_choice_weight marks each place a reply could have ended; completion text is cut into
// consecutive chunks; alpaca trains only the response. Micro-batch plans cover every sample
// once per epoch and respect packing capacity. Length variants come grouped by their file.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "support/test_support.h"
#include "train/batch_plan.h"
#include "chat/limarp_yaml.h"
#include "train/dataset.h"
#include "train/length_augment.h"

namespace limarp::train {
namespace {

std::string fixture(const std::string& rel) { return testing::source_dir() + "/tests/fixtures/" + rel; }

ChatState conversation(const std::string& file) {
  auto c = load_limarp_conversation(fixture(file));
  EXPECT_TRUE(c.ok()) << c.error().message();
  return *c;
}

int64_t words(const std::string& s) {
  std::istringstream in(s);
  std::string w;
  int64_t n = 0;
  while (in >> w) ++n;
  return n;
}

const LengthMeasure kWhitespaceWords = [](std::string_view s) { return words(std::string(s)); };

TEST(LimarpDataset, RendersThePromptFormatWithNamesAndLengthLabels) {
  const ChatState c = conversation("limarp/market.yaml");
  EXPECT_EQ(c.char_name, "Idris");
  EXPECT_EQ(c.user_name, "Lena");
  const TrainingPrompt p = render_training_prompt(c, LengthLabelRule{}, kWhitespaceWords);
  std::string text, trained;
  for (const auto& s : p.segments) {
    text += s.text;
    if (s.trained) trained += s.text + "|";
  }
  const std::string reply1 = "*grins and leans over the counter* Blue saffron! Only for customers with good taste. "
                             "Twelve silver a pinch.";
  const std::string reply2 = "*laughs* Eight for dyed thistle, maybe. Smell this. Ten, and I add a bag of cardamom.";
  const std::string expected =
      "### Instruction:\n"
      "Idris's Persona: Idris runs a spice stall at the night market. He is cheerful, talkative and always haggling.\n\n"
      "Lena's Persona: Lena is a traveller looking for a rare blue saffron.\n\n"
      "Scenario: Lena stops at Idris's stall late in the evening.\n\n"
      "Play the role of Idris. You must engage in a roleplaying chat with Lena below this line. Do not write "
      "dialogues and narration for Lena.\n\n"
      "### Input:\nLena: Do you sell blue saffron?\n\n"
      "### Response: (length = short)\nIdris: " + reply1 + "\n\n"
      "### Input:\nLena: Twelve? The stall by the fountain asked for eight.\n\n"
      "### Response: (length = short)\nIdris: " + reply2 + "\n\n"
      "### Input:\nLena: Nine and you keep the cardamom.";
  EXPECT_EQ(text, expected);
  EXPECT_EQ(trained, " " + reply1 + "|\n\n### Input:| " + reply2 + "|\n\n### Input:|");
  EXPECT_FALSE(p.ends_with_reply);
  // Placement: only the last reply, or none (the original unlabelled format).
  LengthLabelRule last;
  last.placement = LengthLabels::kLastReply;
  std::string t2;
  for (const auto& s : render_training_prompt(c, last, kWhitespaceWords).segments) t2 += s.text;
  EXPECT_NE(t2.find("### Response:\nIdris: *grins"), std::string::npos);
  EXPECT_NE(t2.find("### Response: (length = short)\nIdris: *laughs"), std::string::npos);
  LengthLabelRule none;
  none.placement = LengthLabels::kNone;
  std::string t3;
  for (const auto& s : render_training_prompt(c, none, kWhitespaceWords).segments) t3 += s.text;
  EXPECT_EQ(t3.find("(length ="), std::string::npos);
}

TEST(LimarpDataset, EmDashesAndPlaceholdersAreRestored) {
  const ChatState c = conversation("limarp/lighthouse.yaml");
  EXPECT_NE(c.messages.back().text.find("try it\u2014once"), std::string::npos);
  EXPECT_EQ(c.messages.back().text.find("---"), std::string::npos);
  EXPECT_EQ(c.scenario, "A storm is coming in and Tobias asks Maren whether the boat will leave tonight.");
  EXPECT_TRUE((c.messages.back().role == ChatRole::kChar));
}


TEST(LimarpDataset, LossMaskCoversExactlyTheRepliesAtTokenLevel) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  auto tok = Tokenizer::load(model);
  ASSERT_TRUE(tok.ok()) << tok.error().message();
  TrainConfig config;
  config.sequence_len = 4096;
  DatasetSpec spec;
  spec.path = fixture("limarp");
  spec.type = DatasetType::kLimarp;
  spec.length.upper_bounds = {5, 10, 15, 25, 40, 60, 80};  // spread the short fixture replies over levels
  DatasetReport report;
  auto samples = load_limarp(spec, config, *tok, report);
  ASSERT_TRUE(samples.ok()) << samples.error().message();
  ASSERT_EQ(samples->size(), 3u);
  EXPECT_EQ(report.files, 3);
  std::array<int64_t, kLengthLevelCount> want_hist{};
  for (const auto& s : *samples) {
    const std::string file = std::filesystem::path(s.origin).filename().string();
    const ChatState c = conversation("limarp/" + file);
    std::string want;
    size_t want_turn_ends = 0;
    for (size_t i = 0; i < c.messages.size(); ++i)
      if (const auto& m = c.messages[i]; m.role == ChatRole::kChar) {
        want += " " + m.text;
        // The turn ends with the header the chat stops on when the user speaks next.
        if (i + 1 < c.messages.size() && c.messages[i + 1].role == ChatRole::kUser) want += "\n\n### Input:";
        want_turn_ends += i + 1 == c.messages.size() || c.messages[i + 1].role == ChatRole::kUser;
        ++want_hist[length_level_index(spec.length.level_for(words(m.text)))];
      }
    // Each reply's end is one trained token: the line break after it, or the final EOS.
    EXPECT_EQ(s.turn_ends.size(), want_turn_ends) << file;
    for (int64_t t : s.turn_ends) {
      const auto at = static_cast<size_t>(t);
      EXPECT_TRUE(s.trained[at]) << file << " token " << t;
      EXPECT_TRUE(s.tokens[at] == tok->eos() || tok->token_bytes(s.tokens[at]).find('\n') != std::string::npos)
          << file << " token " << t << " '" << tok->token_bytes(s.tokens[at]) << "'";
    }
    EXPECT_TRUE(s.weight.empty());
    std::string got;
    for (int64_t i = 0; i < s.size(); ++i)
      if (s.trained[static_cast<size_t>(i)] && s.tokens[static_cast<size_t>(i)] != tok->eos())
        got += tok->token_bytes(s.tokens[static_cast<size_t>(i)]);
    EXPECT_EQ(got, want) << file;
    EXPECT_EQ(s.tokens.front(), tok->bos());
    EXPECT_EQ(s.trained.front(), 0);
    // A conversation ending with a reply ends with a trained EOS; otherwise no EOS.
    EXPECT_EQ(s.tokens.back() == tok->eos(), (c.messages.back().role == ChatRole::kChar)) << file;
    if ((c.messages.back().role == ChatRole::kChar)) {
      EXPECT_EQ(s.trained.back(), 1);
    }
    // The whole sample decodes to the rendered prompt.
    std::string text;
    for (const auto& seg : render_training_prompt(c, spec.length, kWhitespaceWords).segments) text += seg.text;
    EXPECT_EQ(tok->decode(s.tokens), text) << file;
  }
  EXPECT_EQ(report.length_histogram, want_hist);
  // turn_end_weight weighs exactly the turn ends; a batch row predicts the next token's weight.
  DatasetSpec weighted = spec;
  weighted.turn_end_weight = 4;
  DatasetReport r_weighted;
  auto heavy = load_limarp(weighted, config, *tok, r_weighted);
  ASSERT_TRUE(heavy.ok()) << heavy.error().message();
  for (const auto& s : *heavy) {
    ASSERT_EQ(s.weight.size(), s.tokens.size());
    TrainBatch batch;
    append_sample(batch, s);
    ASSERT_EQ(batch.weights.size(), s.tokens.size());
    int64_t heavy_rows = 0;
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      const bool end = std::find(s.turn_ends.begin(), s.turn_ends.end(), static_cast<int64_t>(i)) != s.turn_ends.end();
      EXPECT_EQ(s.weight[i], end ? 4.0f : 1.0f) << s.origin << " token " << i;
      if (i > 0 && end) {
        EXPECT_EQ(batch.weights[i - 1], 4.0f);
      }
      heavy_rows += batch.weights[i] == 4.0f;
    }
    EXPECT_EQ(heavy_rows, static_cast<int64_t>(s.turn_ends.size())) << s.origin;
  }
  // stop_choice_weight: every turn end's first token is a stop, and each sentence end inside a
  // reply that ends its turn is one go-on decision, at the first token where the reply departs
  // from its turn end's tokens, against the turn end's token at that depth.
  DatasetSpec choosing = spec;
  choosing.stop_choice_weight = 2.5;
  DatasetReport r_choosing;
  auto chosen = load_limarp(choosing, config, *tok, r_choosing);
  ASSERT_TRUE(chosen.ok()) << chosen.error().message();
  int64_t all_go_ons = 0, all_decisions = 0;
  for (const auto& s : *chosen) {
    for (const StopChoice& ch : s.choice) all_decisions += ch.stop >= 0;
    ASSERT_EQ(s.choice.size(), s.tokens.size());
    const ChatState c = conversation("limarp/" + std::filesystem::path(s.origin).filename().string());
    int64_t want_go_ons = 0;
    for (size_t i = 0; i < c.messages.size(); ++i)
      if (c.messages[i].role == ChatRole::kChar &&
          (i + 1 == c.messages.size() || c.messages[i + 1].role == ChatRole::kUser))
        want_go_ons += static_cast<int64_t>(sentence_cuts(c.messages[i].text).size());
    for (int64_t t : s.turn_ends) {
      EXPECT_EQ(s.choice[static_cast<size_t>(t)].stop, s.tokens[static_cast<size_t>(t)]) << s.origin << " token " << t;
      EXPECT_EQ(s.choice[static_cast<size_t>(t)].weight, 2.5f);
    }
    int64_t go_ons = 0;
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      const StopChoice ch = s.choice[i];
      if (ch.stop < 0 || ch.stop == s.tokens[i]) continue;
      ++go_ons;
      EXPECT_EQ(ch.weight, 2.5f);
      EXPECT_TRUE(s.trained[i]) << s.origin << " token " << i;
      // What comes before is a finished sentence (perhaps with a paragraph's line breaks) ...
      std::string before = tok->decode(std::span(s.tokens).first(i));
      while (!before.empty() && (before.back() == '\n' || before.back() == ' ')) before.pop_back();
      ASSERT_FALSE(before.empty());
      EXPECT_NE(std::string(".!?\"*").find(before.back()), std::string::npos)
          << s.origin << ": go-on after '" << before.substr(before.size() - std::min<size_t>(before.size(), 30)) << "'";
      // ... and the stop it is weighed against is part of a turn end: a line break or the header.
      const std::string stop = tok->token_bytes(ch.stop);
      EXPECT_TRUE(ch.stop == tok->eos() || stop.find('\n') != std::string::npos || stop.find('#') != std::string::npos)
          << s.origin << " stop '" << stop << "'";
    }
    EXPECT_EQ(go_ons, want_go_ons) << s.origin;
    all_go_ons += go_ons;
    TrainBatch batch;
    append_sample(batch, s);
    ASSERT_EQ(batch.choices.size(), s.tokens.size());
    for (size_t i = 1; i < s.tokens.size(); ++i) {
      EXPECT_EQ(batch.choices[i - 1].stop, s.choice[i].stop);
    }
  }
  EXPECT_GT(all_go_ons, 3);
  EXPECT_EQ(r_choosing.stop_decisions, all_decisions);
  EXPECT_GT(all_decisions, all_go_ons);  // the stops too
  EXPECT_EQ(report.stop_decisions, 0);
  EXPECT_TRUE((*heavy)[0].choice.empty());
  // Length augmentation adds variants after each conversation, grouped by its file.
  DatasetSpec augmented = spec;
  augmented.augment = {.openings = true, .truncated_copies = 1};
  DatasetReport with_variants;
  auto variants = load_limarp(augmented, config, *tok, with_variants);
  ASSERT_TRUE(variants.ok()) << variants.error().message();
  EXPECT_GT(with_variants.derived, 0);
  EXPECT_EQ(with_variants.samples, static_cast<int64_t>(variants->size()));
  EXPECT_EQ(with_variants.samples - with_variants.derived, report.samples);
  std::set<std::string> groups;
  for (const auto& s : *variants) {
    groups.insert(s.group);
    EXPECT_TRUE(s.origin.starts_with(s.group));
    EXPECT_EQ(s.derived, s.origin != s.group);
    EXPECT_GT(s.trained_count(), 0);
  }
  EXPECT_EQ(groups.size(), 3u);
  // train_on_inputs: everything after BOS is trained.
  config.train_on_inputs = true;
  DatasetReport r2;
  auto all = load_limarp(spec, config, *tok, r2);
  ASSERT_TRUE(all.ok());
  for (const auto& s : *all) EXPECT_EQ(s.trained_count(), s.size() - 1);
  // Too long for sequence_len: dropped and counted.
  config.sequence_len = 120;
  DatasetReport r3;
  auto short_ones = load_limarp(spec, config, *tok, r3);
  ASSERT_TRUE(short_ones.ok());
  EXPECT_EQ(static_cast<int64_t>(short_ones->size()) + r3.dropped_too_long, 3);
  EXPECT_GT(r3.dropped_too_long, 0);
}

TEST(CompletionDataset, CutsDocumentsIntoConsecutiveChunks) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  auto tok = Tokenizer::load(model);
  ASSERT_TRUE(tok.ok());
  const std::string dir = testing::scratch_dir("completion");
  const std::vector<std::string> docs = {"Once upon a time there was a tiny robot who loved to paint the sea.",
                                         "The end.", "A third story, a little longer than the second one was."};
  testing::write_file(dir + "/stories.txt", docs[0] + "\n<|endoftext|>\n" + docs[1] + "\n<|endoftext|>\n" + docs[2] + "\n");
  testing::write_file(dir + "/stories.jsonl", "{\"story\": \"" + docs[0] + "\"}\n\n{\"story\": \"" + docs[1] + "\"}\n");
  TrainConfig config;
  config.sequence_len = 8;
  DatasetSpec spec;
  spec.path = dir + "/stories.txt";
  DatasetReport report;
  auto samples = load_completion(spec, config, *tok, report);
  ASSERT_TRUE(samples.ok()) << samples.error().message();
  EXPECT_EQ(report.records, 3);
  // Chunks of each document, in order, rebuild BOS + text + EOS.
  size_t next = 0;
  for (const auto& doc : docs) {
    const auto want = tok->encode(doc, {.add_bos = true, .add_eos = true});
    std::vector<int32_t> got;
    while (got.size() < want.size() && next < samples->size()) {
      const Sample& s = (*samples)[next++];
      EXPECT_LE(s.size(), config.sequence_len);
      EXPECT_EQ(s.trained[0], 0);
      EXPECT_EQ(s.trained_count(), s.size() - 1);
      got.insert(got.end(), s.tokens.begin(), s.tokens.end());
    }
    // A final chunk of one token predicts nothing and is dropped.
    if (want.size() % 8 == 1) got.push_back(want.back());
    EXPECT_EQ(got, want) << doc;
  }
  EXPECT_EQ(next, samples->size());
  // JSONL with a named field; a wrong field is an error naming the field and the line.
  spec.path = dir + "/stories.jsonl";
  spec.field = "story";
  DatasetReport r2;
  auto j = load_completion(spec, config, *tok, r2);
  ASSERT_TRUE(j.ok()) << j.error().message();
  EXPECT_EQ(r2.records, 2);
  spec.field = "text";
  auto bad = load_completion(spec, config, *tok, r2);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("\"text\""), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("stories.jsonl:1"), std::string::npos) << bad.error().message();
}

TEST(AlpacaDataset, TrainsOnlyTheResponse) {
  LIMARP_ASSET(model, "llama2-tokenizer/tokenizer.model");
  auto tok = Tokenizer::load(model);
  ASSERT_TRUE(tok.ok());
  TrainConfig config;
  DatasetSpec spec;
  spec.path = fixture("alpaca/tiny.jsonl");
  spec.type = DatasetType::kAlpaca;
  DatasetReport report;
  auto samples = load_alpaca(spec, config, *tok, report);
  ASSERT_TRUE(samples.ok()) << samples.error().message();
  ASSERT_EQ(samples->size(), 3u);
  const Sample& s = (*samples)[2];
  std::string trained;
  for (int64_t i = 0; i < s.size(); ++i)
    if (s.trained[static_cast<size_t>(i)]) trained += s.tokens[static_cast<size_t>(i)] == tok->eos() ? "</s>" : tok->token_bytes(s.tokens[static_cast<size_t>(i)]);
  EXPECT_EQ(trained, "Hello, Ada!</s>");
  const std::string text = tok->decode(s.tokens);
  EXPECT_NE(text.find("### Instruction:\nSay hello to the person.\n\n### Input:\nAda\n\n### Response:\nHello, Ada!"),
            std::string::npos)
      << text;
  EXPECT_EQ(render_with_mask(s, *tok).find("«") , render_with_mask(s, *tok).find("«Hello"));
}

std::vector<Sample> fake_samples(const std::vector<int64_t>& lengths) {
  std::vector<Sample> out;
  for (size_t i = 0; i < lengths.size(); ++i) {
    Sample s;
    s.tokens.assign(static_cast<size_t>(lengths[i]), static_cast<int32_t>(i));
    s.trained.assign(s.tokens.size(), 1);
    out.push_back(std::move(s));
  }
  return out;
}

TEST(BatchPlan, EveryEpochCoversEverySampleOnceAndPackingRespectsCapacity) {
  const std::vector<Sample> samples = fake_samples({5, 9, 3, 12, 7, 7, 2, 10, 4, 6, 11});
  for (bool packing : {false, true}) {
    const BatchPlan plan(samples, {3, 12, packing, 9});
    const int64_t per_epoch = plan.micro_batches_per_epoch();
    std::vector<std::vector<int64_t>> orders;
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      std::multiset<int64_t> seen;
      std::vector<int64_t> order;
      for (int64_t i = epoch * per_epoch; i < (epoch + 1) * per_epoch; ++i) {
        int64_t tokens = 0;
        for (int64_t idx : plan.micro_batch(i)) {
          seen.insert(idx);
          order.push_back(idx);
          tokens += samples[static_cast<size_t>(idx)].size();
        }
        if (packing) EXPECT_LE(tokens, 3 * 12);
        else EXPECT_LE(plan.micro_batch(i).size(), 3u);
      }
      EXPECT_EQ(seen.size(), samples.size());
      EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), samples.size());
      orders.push_back(order);
    }
    EXPECT_NE(orders[0], orders[1]) << "micro-batch order is reshuffled per epoch";
    // Rebuilt from the index alone: a fresh plan agrees (what resuming relies on).
    const BatchPlan again(samples, {3, 12, packing, 9});
    for (int64_t i : {0L, per_epoch + 1, 2 * per_epoch}) EXPECT_EQ(again.micro_batch(i), plan.micro_batch(i));
    // Rows of a filled batch predict the next token of the same sample only.
    TrainBatch b;
    plan.fill(b, 0);
    for (const SequenceSpan& s : b.sequences) EXPECT_EQ(b.targets[static_cast<size_t>(s.start + s.length - 1)], -1);
  }
  auto [train, val] = split_validation(fake_samples({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), 0.2, 3);
  EXPECT_EQ(val.size(), 2u);
  EXPECT_EQ(train.size(), 8u);
  auto [train2, val2] = split_validation(fake_samples({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), 0.2, 3);
  EXPECT_EQ(val2[0].tokens, val[0].tokens);
}

}  // namespace
}  // namespace limarp::train
