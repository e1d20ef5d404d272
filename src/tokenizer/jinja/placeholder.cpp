// placeholder until the template engine lands
namespace cpplm::jinja { void placeholder() {} }
