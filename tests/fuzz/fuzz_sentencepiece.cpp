// A SentencePiece model file (model/sentencepiece_model.h: qtool's own
// reader and tokenizer, no libsentencepiece) and a text: one byte n, n bytes
// of text, then the serialized ModelProto. A model that loads must encode the
// text and a few fixed strings into non-empty pieces, and decode them.
#include <algorithm>
#include <string_view>

#include "model/sentencepiece_model.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t n = in.empty() ? 0 : std::min<size_t>(static_cast<uint8_t>(in[0]), in.size() - 1);
  const std::string_view text = in.substr(std::min<size_t>(1, in.size()), n);
  const std::string_view model = in.substr(std::min(in.size(), 1 + n));
  qtool::fuzz::expect_clean("m.spm: ", [&] {
    const qtool::SentencePieceModel m(model, "m.spm");
    qtool::fuzz::require(m.size() > 0, "a model that loads has pieces");
    for (const std::string_view t : {text, std::string_view("  a\tb  \xEF\xBC\xA1\xE2\x96\x81\xC3")}) {
      const std::vector<std::string> pieces = m.encode(t);
      for (const std::string& p : pieces) qtool::fuzz::require(!p.empty(), "no empty piece");
      m.decode(pieces);
      m.piece_to_id(t);
    }
  });
  return 0;
}
