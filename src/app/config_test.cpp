#include "app/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace boxoffice::app {
namespace {

// Parses `args` (after the program name) into a fresh config.
ServeConfig Parse(std::vector<std::string> args) {
  CLI::App command{"test"};
  ServeConfig config;
  AddServeOptions(command, config);
  std::vector<const char*> argv = {"serve"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  command.parse(static_cast<int>(argv.size()), argv.data());
  return config;
}

// Without flags, environment or file, every setting has its documented default.
TEST(ConfigTest, Defaults) {
  const ServeConfig config = Parse({});
  EXPECT_EQ(config.listen, "127.0.0.1:8080");
  EXPECT_EQ(config.data_dir, "data");
  EXPECT_EQ(config.body_limit_bytes, 1u << 20);
  EXPECT_EQ(config.max_streams, 5'000u);
  EXPECT_FALSE(config.demo);
}

// --max-streams reaches the server's options (0 turns streams off: every one is a 503).
TEST(ConfigTest, MaxStreamsReachesTheServer) {
  const ServeConfig config = Parse({"--max-streams", "12"});
  Result<http::ServerOptions> options = ToServerOptions(config);
  ASSERT_TRUE(options);
  EXPECT_EQ(options->max_streams, 12u);
  EXPECT_EQ(ToServerOptions(Parse({"--max-streams", "0"}))->max_streams, 0u);
  EXPECT_THROW(Parse({"--max-streams", "-1"}), CLI::ParseError);
}

// A flag beats the config file, which beats the environment, which beats the default.
TEST(ConfigTest, FlagBeatsEnvironmentBeatsFile) {
  const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                     ("boxoffice_config_test_" + std::to_string(getpid()));
  std::ofstream(file) << "listen = \"127.0.0.1:7000\"\ndata-dir = \"/from/file\"\n"
                         "max-connections = 77\n";
  ::setenv("BOXOFFICE_DATA_DIR", "/from/env", 1);
  ::setenv("BOXOFFICE_THREADS", "3", 1);
  const ServeConfig from_file_and_env = Parse({"--config", file.string()});
  EXPECT_EQ(from_file_and_env.listen, "127.0.0.1:7000");
  EXPECT_EQ(from_file_and_env.data_dir, "/from/file");
  EXPECT_EQ(from_file_and_env.threads, 3u);
  EXPECT_EQ(from_file_and_env.max_connections, 77u);
  const ServeConfig with_flag = Parse({"--config", file.string(), "--data-dir", "/from/flag"});
  EXPECT_EQ(with_flag.data_dir, "/from/flag");
  ::unsetenv("BOXOFFICE_DATA_DIR");
  ::unsetenv("BOXOFFICE_THREADS");
  std::filesystem::remove(file);
}

// Out-of-range values are refused by the parser, not discovered at run time.
TEST(ConfigTest, RejectsOutOfRangeValues) {
  EXPECT_THROW(Parse({"--body-limit-bytes", "10"}), CLI::ValidationError);
  EXPECT_THROW(Parse({"--log-level", "loud"}), CLI::ValidationError);
}

// Listen addresses: host:port and [v6]:port; anything else is a clear error.
TEST(ConfigTest, ParsesListenAddresses) {
  EXPECT_EQ(ParseListen("127.0.0.1:8080")->second, 8080);
  EXPECT_EQ(ParseListen("[::1]:0")->first, "::1");
  EXPECT_EQ(ParseListen("localhost:9")->first, "localhost");
  for (const char* bad : {"8080", ":8080", "::1:80", "host:", "host:65536", "host:8o", "[::1:80"}) {
    Result<std::pair<std::string, std::uint16_t>> parsed = ParseListen(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, "invalid_listen");
  }
}

// Trusted proxies are split on commas with blanks trimmed.
TEST(ConfigTest, SplitsTrustedProxies) {
  ServeConfig config;
  config.trusted_proxies = "10.0.0.0/8, 192.168.1.1/32 ,,::1/128";
  Result<http::ServerOptions> options = ToServerOptions(config);
  ASSERT_TRUE(options);
  EXPECT_EQ(options->trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "192.168.1.1/32", "::1/128"}));
}

}  // namespace
}  // namespace boxoffice::app
