// placeholder until the tokenizer lands
namespace cpplm { void tokenizer_placeholder() {} }
