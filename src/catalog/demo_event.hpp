// The demo event `make run` creates on an empty data dir: a ~20,000-seat arena with a floor, a
// lower and an upper bowl, three price tiers, accessible seats and the waiting room on.
#pragma once

#include <boost/json/value.hpp>

namespace boxoffice {

boost::json::value DemoEventJson();

}  // namespace boxoffice
