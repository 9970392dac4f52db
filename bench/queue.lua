-- wrk script for bench/queue.sh: spreads requests over many pre-created fans, each with its own
-- session token (and, for status, its queue ticket). FANS_FILE lists one "token ticket" a line.
-- Requests are formatted once in init: formatting per request costs the client more CPU than the
-- server spends answering, and both share this machine's cores.
local requests = {}
local next_fan = 1

function init(args)
  local mode = args[1] or "join"
  local event_id = args[2]
  local join_path = "/v1/events/" .. event_id .. "/queue"
  local status_path = "/v1/events/" .. event_id .. "/queue/status"
  for line in io.lines(os.getenv("FANS_FILE")) do
    local token, ticket = line:match("^(%S+)%s*(%S*)$")
    if mode == "join" then
      requests[#requests + 1] =
          wrk.format("POST", join_path, {["Authorization"] = "Bearer " .. token}, "")
    else
      requests[#requests + 1] = wrk.format("GET", status_path, {
        ["Authorization"] = "Bearer " .. token, ["X-Queue-Ticket"] = ticket})
    end
  end
  -- Threads start at different fans, so they do not join in lockstep.
  next_fan = (math.random(#requests) - 1) + 1
end

function request()
  local formatted = requests[next_fan]
  next_fan = next_fan % #requests + 1
  return formatted
end
