// The HTML page of a `boxoffice onsale` run, rendered from its JSON report (the schema is the
// report's, version 1). One self-contained HTML5 document, readable at 1000 px and printable:
// the event, server url, start time and options; a big "Audit passed" / "Audit FAILED" verdict
// with every audit check and the Kendall tau of admission order; the summary figures; line charts
// per second of arrivals and the queue, admissions against the configured rate, active fans and
// held seats, sales, latency per step, requests and errors, and server and simulator resources;
// the errors by code, the time in queue as a histogram, the phases, the simulator's own health
// (with a warning when it was the bottleneck) and the chaos block when there was one.
//
// The page needs no JavaScript and loads nothing: CSS and SVG are inline, and no link or
// address is emitted (the report's url is shown as text). Every string from the report is
// HTML-escaped; a missing or mistyped key is skipped, a null sample is a gap in its line.
#pragma once

#include <boost/json/object.hpp>
#include <string>

namespace boxoffice::tools::onsale {

// The page for `report`, a `boxoffice onsale` report object. Never throws on a malformed report:
// what is missing or of the wrong type is left out.
std::string RenderOnsaleHtml(const boost::json::object& report);

}  // namespace boxoffice::tools::onsale
