#include "http/router.hpp"

#include <gtest/gtest.h>

#include <string>

namespace boxoffice::http {
namespace {

// A handler that records its name in the response body, so a test can see which route ran.
Handler Named(std::string name) {
  return [name = std::move(name)](const Request&, Respond respond) {
    Response response;
    response.body = name;
    respond(std::move(response));
  };
}

std::string Invoke(const RouteMatch& match) {
  if (match.outcome != RouteMatch::Outcome::kFound) return "<none>";
  std::string body;
  (*match.handler)(Request{}, [&body](Response response) { body = std::move(response.body); });
  return body;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add(Method::kGet, "/", Named("root"));
    router_.Add(Method::kGet, "/healthz", Named("healthz"));
    router_.Add(Method::kGet, "/v1/events", Named("list events"));
    router_.Add(Method::kPost, "/v1/events", Named("create event"));
    router_.Add(Method::kGet, "/v1/events/{id}", Named("get event"));
    router_.Add(Method::kGet, "/v1/events/special", Named("special event"));
    router_.Add(Method::kGet, "/v1/events/{id}/seats", Named("seats"));
    router_.Add(Method::kPatch, "/v1/events/{id}/queue", Named("patch queue"));
    router_.Add(Method::kGet, "/v1/events/{event_id}/holds/{hold_id}", Named("get hold"));
    router_.Add(Method::kDelete, "/v1/holds/{hold_id}", Named("delete hold"));
    router_.Add(Method::kGet, "/v1/holds/{hold_id}", Named("get hold by id"));
    router_.Add(Method::kHead, "/v1/holds/{hold_id}", Named("head hold"));
  }

  Router router_;
};

// Literal paths reach their own handler and report their pattern for the metrics label.
TEST_F(RouterTest, MatchesLiteralPaths) {
  const auto match = router_.Match(Method::kGet, "/healthz");
  EXPECT_EQ(match.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(match.pattern, "/healthz");
  EXPECT_TRUE(match.params.empty());
  EXPECT_EQ(Invoke(match), "healthz");
  EXPECT_EQ(Invoke(router_.Match(Method::kGet, "/")), "root");
  EXPECT_EQ(Invoke(router_.Match(Method::kGet, "/v1/events")), "list events");
  EXPECT_EQ(Invoke(router_.Match(Method::kPost, "/v1/events")), "create event");
}

// `{name}` segments capture their value, in path order, under the route's own names.
TEST_F(RouterTest, CapturesParameters) {
  auto match = router_.Match(Method::kGet, "/v1/events/evt_1/holds/hld_9");
  ASSERT_EQ(match.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(match.pattern, "/v1/events/{event_id}/holds/{hold_id}");
  using Params = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(match.params, (Params{{"event_id", "evt_1"}, {"hold_id", "hld_9"}}));
  // Same trie position, different parameter name on another route.
  match = router_.Match(Method::kGet, "/v1/events/evt_2/seats");
  EXPECT_EQ(match.params, (Params{{"id", "evt_2"}}));
  EXPECT_EQ(Invoke(match), "seats");
}

// A literal segment wins over a parameter at the same position.
TEST_F(RouterTest, LiteralBeatsParameter) {
  EXPECT_EQ(Invoke(router_.Match(Method::kGet, "/v1/events/special")), "special event");
  EXPECT_EQ(Invoke(router_.Match(Method::kGet, "/v1/events/ordinary")), "get event");
}

// When the literal branch dead-ends, the parameter branch is still tried (backtracking).
TEST_F(RouterTest, BacktracksFromLiteralToParameter) {
  const auto match = router_.Match(Method::kGet, "/v1/events/special/seats");
  EXPECT_EQ(Invoke(match), "seats");
  EXPECT_EQ(match.params[0].second, "special");
}

// Unknown paths, extra or missing segments are 404 with an empty pattern.
TEST_F(RouterTest, UnknownPathsAreNotFound) {
  for (const char* path :
       {"/nope", "/v1", "/v1/events/e/seats/x", "/v1/holds", "", "healthz", "/HEALTHZ"}) {
    const auto match = router_.Match(Method::kGet, path);
    EXPECT_EQ(match.outcome, RouteMatch::Outcome::kNotFound) << path;
    EXPECT_TRUE(match.pattern.empty()) << path;
    EXPECT_EQ(match.handler, nullptr) << path;
  }
}

// A trailing slash is another path (no normalising); an empty segment never fills a parameter.
TEST_F(RouterTest, TrailingSlashAndEmptySegmentsAreNotFound) {
  EXPECT_EQ(router_.Match(Method::kGet, "/v1/events/").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router_.Match(Method::kGet, "/healthz/").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router_.Match(Method::kGet, "/v1/events//seats").outcome,
            RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router_.Match(Method::kGet, "//").outcome, RouteMatch::Outcome::kNotFound);
}

// A path known under other methods is 405 listing them (HEAD implied by GET), in enum order.
TEST_F(RouterTest, WrongMethodListsAllowedMethods) {
  auto match = router_.Match(Method::kDelete, "/v1/events");
  EXPECT_EQ(match.outcome, RouteMatch::Outcome::kMethodNotAllowed);
  EXPECT_EQ(match.allowed, (std::vector<Method>{Method::kGet, Method::kHead, Method::kPost}));
  EXPECT_EQ(match.handler, nullptr);

  match = router_.Match(Method::kPost, "/v1/events/e1/queue");
  EXPECT_EQ(match.allowed, (std::vector<Method>{Method::kPatch}));

  match = router_.Match(Method::kPut, "/v1/holds/h1");
  EXPECT_EQ(match.allowed, (std::vector<Method>{Method::kGet, Method::kHead, Method::kDelete}));
}

// The allowed set is the union over every pattern that matches the path, literal and parameter.
TEST_F(RouterTest, AllowedMethodsAreUnionOverMatchingPatterns) {
  Router router;
  router.Add(Method::kGet, "/a/b", Named("literal"));
  router.Add(Method::kPut, "/a/{x}", Named("param"));
  const auto match = router.Match(Method::kDelete, "/a/b");
  EXPECT_EQ(match.allowed, (std::vector<Method>{Method::kGet, Method::kHead, Method::kPut}));
  // And a method only the parameter route has is found there, even for the literal path.
  EXPECT_EQ(Invoke(router.Match(Method::kPut, "/a/b")), "param");
}

// HEAD falls back to the GET route, unless a HEAD route exists.
TEST_F(RouterTest, HeadFallsBackToGet) {
  const auto match = router_.Match(Method::kHead, "/v1/events/e1");
  EXPECT_EQ(match.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(match.pattern, "/v1/events/{id}");
  EXPECT_EQ(Invoke(match), "get event");
  EXPECT_EQ(Invoke(router_.Match(Method::kHead, "/v1/holds/h1")), "head hold");
  // No fallback the other way round, nor from other methods.
  EXPECT_EQ(router_.Match(Method::kPost, "/healthz").outcome,
            RouteMatch::Outcome::kMethodNotAllowed);
}

// The router reads the path as sent: it splits on '/' first and decodes each segment after, so
// parameter values arrive decoded, and an escaped slash is a byte of a segment, never a separator.
TEST_F(RouterTest, SegmentsAreSplitBeforeTheyAreDecoded) {
  auto match = router_.Match(Method::kGet, "/v1/events/a%20b%25%C3%BC{}");
  ASSERT_EQ(match.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(match.params[0].second, "a b%\xC3\xBC{}");

  match = router_.Match(Method::kGet, "/v1/events/a%2Fb");
  ASSERT_EQ(match.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(match.pattern, "/v1/events/{id}");
  EXPECT_EQ(match.params[0].second, "a/b");

  // "/v1%2Fevents" is one segment, "v1/events", which no literal equals.
  EXPECT_EQ(router_.Match(Method::kGet, "/v1%2Fevents").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router_.Match(Method::kGet, "/v1/events%2F42").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router_.Match(Method::kGet, "/v1/events/42%2Fseats").pattern, "/v1/events/{id}");
  // An escaped letter is the letter: literals compare decoded.
  EXPECT_EQ(Invoke(router_.Match(Method::kGet, "/v1/%65vents")), "list events");
  // A malformed escape matches nothing (the server refuses such a target before routing).
  EXPECT_EQ(router_.Match(Method::kGet, "/v1/events/a%2").outcome, RouteMatch::Outcome::kNotFound);
}

// An empty router answers 404 for everything, including "/".
TEST(RouterEmptyTest, EverythingIsNotFound) {
  Router router;
  EXPECT_EQ(router.Match(Method::kGet, "/").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router.Match(Method::kGet, "/x").outcome, RouteMatch::Outcome::kNotFound);
}

// Registering a method and pattern twice is a bug in the caller and stops the process.
// A fallback takes what no route does, a wrong method included, and leaves the routes alone.
TEST_F(RouterTest, FallbackTakesWhatNoRouteDoes) {
  router_.SetFallback(Named("fallback"));
  const auto unknown = router_.Match(Method::kPost, "/v1/nothing");
  EXPECT_EQ(unknown.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(unknown.pattern, "*");
  EXPECT_EQ(Invoke(unknown), "fallback");
  EXPECT_EQ(Invoke(router_.Match(Method::kDelete, "/v1/events")), "fallback");
  EXPECT_EQ(Invoke(router_.Match(Method::kGet, "/v1/events")), "list events");
}

TEST(RouterDeathTest, DuplicateRouteAborts) {
  EXPECT_DEATH(
      {
        Router router;
        router.Add(Method::kGet, "/a/{id}", Named("one"));
        router.Add(Method::kGet, "/a/{other}", Named("two"));
      },
      "registered twice");
}

// Malformed patterns are rejected at registration.
TEST(RouterDeathTest, MalformedPatternsAbort) {
  EXPECT_DEATH({ Router().Add(Method::kGet, "no-slash", Named("x")); }, "must start");
  EXPECT_DEATH({ Router().Add(Method::kGet, "/a/", Named("x")); }, "empty segment");
  EXPECT_DEATH({ Router().Add(Method::kGet, "/a/{}", Named("x")); }, "bad parameter");
  EXPECT_DEATH({ Router().Add(Method::kGet, "/{a}/{a}", Named("x")); }, "used twice");
}

}  // namespace
}  // namespace boxoffice::http

namespace boxoffice::http {
namespace {

// Decorators wrap routes added after Use(), see each route's method and pattern, and nest with
// the first one outermost.
TEST(RouterDecoratorTest, WrapsLaterRoutesOnce) {
  Router router;
  router.Add(Method::kGet, "/before", Named("before"));
  std::vector<std::string> seen;
  auto tag = [&seen](std::string label) {
    return [&seen, label](Method method, std::string_view pattern, Handler inner) -> Handler {
      seen.push_back(label + " " + std::string(MethodName(method)) + " " + std::string(pattern));
      return [label, inner](const Request& request, Respond respond) {
        inner(request, [label, respond](Response response) {
          response.body = label + "(" + response.body + ")";
          respond(std::move(response));
        });
      };
    };
  };
  router.Use(tag("outer"));
  router.Use(tag("inner"));
  router.Add(Method::kPost, "/items/{id}", Named("item"));
  EXPECT_EQ(seen, (std::vector<std::string>{"inner POST /items/{id}", "outer POST /items/{id}"}));
  EXPECT_EQ(Invoke(router.Match(Method::kPost, "/items/7")), "outer(inner(item))");
  EXPECT_EQ(Invoke(router.Match(Method::kGet, "/before")), "before");
}

}  // namespace
}  // namespace boxoffice::http
