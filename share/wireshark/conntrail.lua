-- SPDX-License-Identifier: MIT
--
-- conntrail.lua: Wireshark (3.6+, tested with 4.0) plugin for the pcapng
-- files of `conntrail convert --to pcapng`: the process and the final
-- outcome of every connect in the packet list, as display-filter fields,
-- as expert items (failed connects grouped by error), and UNIX connects
-- (ethertype 0x88b5) dissected as Protocol "UNIX".
--
-- Install: `make install` puts it in Wireshark's global plugin folder;
-- without installing, `wireshark -X lua_script:share/wireshark/conntrail.lua
-- FILE` or the same with tshark, or copy it to ~/.local/lib/wireshark/plugins/.
--
-- What it reads (the contract of conntrail's pcapng export, version 1; see
-- man/conntrail-convert.1, PCAPNG FOR WIRESHARK). It never parses the
-- human-readable comment, whose wording may change:
--   * IP frames (a connect's SYN, UDP or ICMP echo): a packet comment that
--     starts with "conntrail/1 " followed by one JSON object with the keys
--     of `conntrail script --json` (DESIGN.md; absent when unknown; keys are
--     added, never renamed): always pid, tid, comm and the connect's own
--     sockfd, saddr, sport, ret, latency_ns, result, result_ns, outcome,
--     closed_ns, tx_bytes, rx_bytes, still_open (dname where known); the
--     process part host, ppid, uid, gid, exe, cmdline, cgroup_id, container
--     only on the first packet of each thread of an interface and whenever
--     it changed (an object with "ppid" has it; later ones of that thread
--     take it from there). Addresses and ports are the packet's own.
--   * Synthesized replies (--replies): a comment "conntrail/1 " + JSON with
--     "synthesized":true and pid, tid, comm, outcome, result, result_ns.
--   * UNIX and other non-IP connects: Ethernet frames of ethertype 0x88b5
--     whose payload is that same JSON line (so classic pcap files, which
--     have no comments, still show them).
-- A tag other than "conntrail/1 " (a future incompatible version) is left
-- alone: the frame then shows only what Wireshark itself shows.

local VERSION_TAG = "conntrail/1 "

-- One protocol, so that every expert item says "conntrail": its dissector
-- runs as a postdissector on every frame and on the payload of 0x88b5.
local p = Proto("conntrail", "conntrail connect")

local f = {
	comm = ProtoField.string("conntrail.comm", "Command (comm)"),
	pid = ProtoField.uint32("conntrail.pid", "PID"),
	tid = ProtoField.uint32("conntrail.tid", "Thread ID"),
	ppid = ProtoField.uint32("conntrail.ppid", "Parent PID"),
	uid = ProtoField.uint32("conntrail.uid", "UID"),
	gid = ProtoField.uint32("conntrail.gid", "GID"),
	exe = ProtoField.string("conntrail.exe", "Executable"),
	cmdline = ProtoField.string("conntrail.cmdline", "Command line"),
	container = ProtoField.string("conntrail.container", "Container"),
	host = ProtoField.string("conntrail.host", "Host"),
	result = ProtoField.string("conntrail.result",
		"Final outcome (ok, an errno name, abandoned, unknown)"),
	result_code = ProtoField.int32("conntrail.result_code", "Final outcome (0 or -errno)"),
	ret = ProtoField.string("conntrail.ret", "connect(2) returned"),
	ret_code = ProtoField.int32("conntrail.ret_code", "connect(2) returned (0 or -errno)"),
	failed = ProtoField.bool("conntrail.failed", "Failed (the final outcome is an error)"),
	latency_ns = ProtoField.uint64("conntrail.latency_ns", "Time in connect(2) (ns)"),
	result_ns = ProtoField.uint64("conntrail.result_ns", "Attempt to outcome (ns)"),
	closed_ns = ProtoField.uint64("conntrail.closed_ns", "Attempt to close (ns)"),
	tx_bytes = ProtoField.uint64("conntrail.tx_bytes", "Bytes sent (acknowledged)"),
	rx_bytes = ProtoField.uint64("conntrail.rx_bytes", "Bytes received"),
	still_open = ProtoField.bool("conntrail.still_open", "Still open when recording stopped"),
	sockfd = ProtoField.int32("conntrail.sockfd", "Socket fd"),
	family = ProtoField.string("conntrail.family", "Family"),
	path = ProtoField.string("conntrail.path", "UNIX path"),
	abstract = ProtoField.bool("conntrail.abstract", "Abstract UNIX name"),
	daddr = ProtoField.string("conntrail.daddr", "Destination address"),
	dport = ProtoField.uint16("conntrail.dport", "Destination port"),
	saddr = ProtoField.string("conntrail.saddr", "Local address"),
	sport = ProtoField.uint16("conntrail.sport", "Local port"),
	dname = ProtoField.string("conntrail.dname", "DNS name of the destination"),
	synthesized = ProtoField.bool("conntrail.synthesized",
		"Synthesized by conntrail (not captured)"),
	json = ProtoField.string("conntrail.json", "JSON"),
}
p.fields = {
	f.comm, f.pid, f.tid, f.ppid, f.uid, f.gid, f.exe, f.cmdline, f.container, f.host,
	f.result, f.result_code, f.ret, f.ret_code, f.failed, f.latency_ns, f.result_ns,
	f.closed_ns, f.tx_bytes, f.rx_bytes, f.still_open, f.sockfd, f.family, f.path,
	f.abstract, f.daddr, f.dport, f.saddr, f.sport, f.dname, f.synthesized, f.json,
}

local ef_failed = ProtoExpert.new("conntrail.failed.expert", "Connect failed",
	expert.group.RESPONSE_CODE, expert.severity.WARN)
local ef_abandoned = ProtoExpert.new("conntrail.abandoned.expert",
	"Connect abandoned by its program before the handshake ended",
	expert.group.RESPONSE_CODE, expert.severity.NOTE)
local ef_synth = ProtoExpert.new("conntrail.synthesized.expert",
	"Synthesized by conntrail from the recorded outcome, not captured",
	expert.group.COMMENTS_GROUP, expert.severity.NOTE)
local ef_bad = ProtoExpert.new("conntrail.bad_json.expert", "conntrail JSON could not be read",
	expert.group.MALFORMED, expert.severity.ERROR)
p.experts = { ef_failed, ef_abandoned, ef_synth, ef_bad }

-- Linux errno names, as conntrail spells them (lib/names.c).
local ERRNO = {
	[1]="EPERM", [2]="ENOENT", [3]="ESRCH", [4]="EINTR", [5]="EIO", [6]="ENXIO", [7]="E2BIG",
	[8]="ENOEXEC", [9]="EBADF", [10]="ECHILD", [11]="EAGAIN", [12]="ENOMEM", [13]="EACCES",
	[14]="EFAULT", [15]="ENOTBLK", [16]="EBUSY", [17]="EEXIST", [18]="EXDEV", [19]="ENODEV",
	[20]="ENOTDIR", [21]="EISDIR", [22]="EINVAL", [23]="ENFILE", [24]="EMFILE", [25]="ENOTTY",
	[26]="ETXTBSY", [27]="EFBIG", [28]="ENOSPC", [29]="ESPIPE", [30]="EROFS", [31]="EMLINK",
	[32]="EPIPE", [33]="EDOM", [34]="ERANGE", [35]="EDEADLK", [36]="ENAMETOOLONG", [37]="ENOLCK",
	[38]="ENOSYS", [39]="ENOTEMPTY", [40]="ELOOP", [42]="ENOMSG", [43]="EIDRM", [44]="ECHRNG",
	[45]="EL2NSYNC", [46]="EL3HLT", [47]="EL3RST", [48]="ELNRNG", [49]="EUNATCH", [50]="ENOCSI",
	[51]="EL2HLT", [52]="EBADE", [53]="EBADR", [54]="EXFULL", [55]="ENOANO", [56]="EBADRQC",
	[57]="EBADSLT", [59]="EBFONT", [60]="ENOSTR", [61]="ENODATA", [62]="ETIME", [63]="ENOSR",
	[64]="ENONET", [65]="ENOPKG", [66]="EREMOTE", [67]="ENOLINK", [68]="EADV", [69]="ESRMNT",
	[70]="ECOMM", [71]="EPROTO", [72]="EMULTIHOP", [73]="EDOTDOT", [74]="EBADMSG",
	[75]="EOVERFLOW", [76]="ENOTUNIQ", [77]="EBADFD", [78]="EREMCHG", [79]="ELIBACC",
	[80]="ELIBBAD", [81]="ELIBSCN", [82]="ELIBMAX", [83]="ELIBEXEC", [84]="EILSEQ",
	[85]="ERESTART", [86]="ESTRPIPE", [87]="EUSERS", [88]="ENOTSOCK", [89]="EDESTADDRREQ",
	[90]="EMSGSIZE", [91]="EPROTOTYPE", [92]="ENOPROTOOPT", [93]="EPROTONOSUPPORT",
	[94]="ESOCKTNOSUPPORT", [95]="EOPNOTSUPP", [96]="EPFNOSUPPORT", [97]="EAFNOSUPPORT",
	[98]="EADDRINUSE", [99]="EADDRNOTAVAIL", [100]="ENETDOWN", [101]="ENETUNREACH",
	[102]="ENETRESET", [103]="ECONNABORTED", [104]="ECONNRESET", [105]="ENOBUFS", [106]="EISCONN",
	[107]="ENOTCONN", [108]="ESHUTDOWN", [109]="ETOOMANYREFS", [110]="ETIMEDOUT",
	[111]="ECONNREFUSED", [112]="EHOSTDOWN", [113]="EHOSTUNREACH", [114]="EALREADY",
	[115]="EINPROGRESS", [116]="ESTALE", [117]="EUCLEAN", [118]="ENOTNAM", [119]="ENAVAIL",
	[120]="EISNAM", [121]="EREMOTEIO", [122]="EDQUOT", [123]="ENOMEDIUM", [124]="EMEDIUMTYPE",
	[125]="ECANCELED", [126]="ENOKEY", [127]="EKEYEXPIRED", [128]="EKEYREVOKED",
	[129]="EKEYREJECTED", [130]="EOWNERDEAD", [131]="ENOTRECOVERABLE", [132]="ERFKILL",
	[133]="EHWPOISON",
}


local function errno_text(v)
	if v == 0 then
		return "ok"
	end
	return ERRNO[-v] or tostring(v)
end

----------------------------------------------------------------- JSON
-- A small JSON reader: objects, arrays, strings (escapes, \uXXXX to UTF-8),
-- numbers (kept as their text too, for 64-bit exactness), true, false, null.
-- Returns the value, or nil and a message.

local function utf8_char(c)
	if c < 0x80 then
		return string.char(c)
	elseif c < 0x800 then
		return string.char(0xC0 + math.floor(c / 64), 0x80 + c % 64)
	elseif c < 0x10000 then
		return string.char(0xE0 + math.floor(c / 4096), 0x80 + math.floor(c / 64) % 64,
			0x80 + c % 64)
	end
	return string.char(0xF0 + math.floor(c / 262144), 0x80 + math.floor(c / 4096) % 64,
		0x80 + math.floor(c / 64) % 64, 0x80 + c % 64)
end

local ESC = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r",
	t = "\t" }

local json_value

local function skip_ws(s, i)
	return s:find("[^ \t\r\n]", i) or #s + 1
end

local function json_string(s, i) -- s:sub(i, i) == '"'
	local out, j = {}, i + 1
	while true do
		local k = s:find('["\\]', j)
		if not k then
			return nil, "unterminated string"
		end
		out[#out + 1] = s:sub(j, k - 1)
		if s:sub(k, k) == '"' then
			return table.concat(out), k + 1
		end
		local e = s:sub(k + 1, k + 1)
		if e == "u" then
			local c = tonumber(s:sub(k + 2, k + 5), 16)
			if not c then
				return nil, "bad \\u escape"
			end
			j = k + 6
			if c >= 0xD800 and c < 0xDC00 and s:sub(j, j + 1) == "\\u" then
				local lo = tonumber(s:sub(j + 2, j + 5), 16)
				if lo and lo >= 0xDC00 and lo < 0xE000 then
					c = 0x10000 + (c - 0xD800) * 1024 + (lo - 0xDC00)
					j = j + 6
				end
			end
			out[#out + 1] = utf8_char(c)
		elseif ESC[e] then
			out[#out + 1] = ESC[e]
			j = k + 2
		else
			return nil, "bad escape"
		end
	end
end

json_value = function(s, i)
	i = skip_ws(s, i)
	local c = s:sub(i, i)
	if c == "{" then
		local obj, nums = {}, {}
		i = skip_ws(s, i + 1)
		if s:sub(i, i) == "}" then
			return obj, i + 1, nums
		end
		while true do
			if s:sub(i, i) ~= '"' then
				return nil, "key expected"
			end
			local k, v, raw
			k, i = json_string(s, i)
			if not k then
				return nil, i
			end
			i = skip_ws(s, i)
			if s:sub(i, i) ~= ":" then
				return nil, "':' expected"
			end
			v, i, raw = json_value(s, i + 1)
			if v == nil and type(i) == "string" then
				return nil, i
			end
			obj[k] = v
			if type(raw) == "string" then
				nums[k] = raw
			end
			i = skip_ws(s, i)
			c = s:sub(i, i)
			if c == "}" then
				return obj, i + 1, nums
			elseif c ~= "," then
				return nil, "',' or '}' expected"
			end
			i = skip_ws(s, i + 1)
		end
	elseif c == "[" then
		local arr = {}
		i = skip_ws(s, i + 1)
		if s:sub(i, i) == "]" then
			return arr, i + 1
		end
		while true do
			local v
			v, i = json_value(s, i)
			if v == nil and type(i) == "string" then
				return nil, i
			end
			arr[#arr + 1] = v
			i = skip_ws(s, i)
			c = s:sub(i, i)
			if c == "]" then
				return arr, i + 1
			elseif c ~= "," then
				return nil, "',' or ']' expected"
			end
			i = i + 1
		end
	elseif c == '"' then
		return json_string(s, i)
	elseif s:sub(i, i + 3) == "true" then
		return true, i + 4
	elseif s:sub(i, i + 4) == "false" then
		return false, i + 5
	elseif s:sub(i, i + 3) == "null" then
		return false, i + 4 -- absent, for our purposes
	end
	local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
	if not num or num == "" then
		return nil, "value expected at " .. i
	end
	return tonumber(num), i + #num, num
end

local function json_decode(s)
	local v, i, nums = json_value(s, 1)
	if v == nil then
		return nil, i
	end
	if type(v) ~= "table" then
		return nil, "not an object"
	end
	return v, nums
end

-- A decimal text as UInt64, exactly (Lua 5.2 numbers are doubles).
local function u64(text)
	if not text or not text:match("^%d+$") then
		return nil
	end
	local v = UInt64(0)
	for d in text:gmatch("%d") do
		v = v * 10 + tonumber(d)
	end
	return v
end

------------------------------------------------- process carry-forward
-- An IP frame's JSON carries the process part (host, ppid, uid, gid, exe,
-- cmdline, cgroup_id, container) only on the first packet of its thread
-- and whenever that part changed (those objects have "ppid"); later ones
-- have pid, tid and comm. Frames are dissected in order first, so the part
-- is remembered per (interface, pid, tid) and, per frame, for later passes.

local PROC_KEYS = { "host", "ppid", "uid", "gid", "exe", "cmdline", "cgroup_id", "container" }
local procs, resolved = {}, {}

function p.init()
	procs, resolved = {}, {}
end

local f_iface = Field.new("frame.interface_id")

local function carry_forward(pinfo, ev, nums)
	if type(ev.pid) ~= "number" then
		return
	end
	local iface = f_iface()
	local key = tostring(iface and iface.value or 0) .. ":" .. ev.pid .. ":" .. tostring(ev.tid)
	local info
	if ev.ppid ~= nil then
		info = {}
		for _, k in ipairs(PROC_KEYS) do
			info[k] = ev[k]
		end
		procs[key] = info
		resolved[pinfo.number] = info
	elseif not pinfo.visited then
		info = procs[key]
		resolved[pinfo.number] = info
	else
		info = resolved[pinfo.number]
	end
	if info then
		for _, k in ipairs(PROC_KEYS) do
			if ev[k] == nil then
				ev[k] = info[k]
			end
		end
	end
end

------------------------------------------------------------ the tree

-- The conntrail subtree from a decoded event; returns the Info prefix.
local function add_event(tree, pinfo, ev, nums, range, text)
	carry_forward(pinfo, ev, nums)
	local synth = ev.synthesized == true
	local comm = type(ev.comm) == "string" and ev.comm or "?"
	local pid = type(ev.pid) == "number" and ev.pid or nil
	local outcome = type(ev.outcome) == "string" and ev.outcome or nil
	if not outcome then
		if type(ev.result) == "number" then
			outcome = errno_text(ev.result)
		else
			outcome = "unknown"
		end
	end
	local who = comm .. (pid and ("/" .. pid) or "")
	local label = string.format("conntrail: %s%s %s", synth and "synthesized reply to " or "",
		who, outcome)
	local t = range and tree:add(p, range, label) or tree:add(p, label)
	t:set_generated(range == nil)

	local function add(field, v)
		if v ~= nil then
			t:add(field, v)
		end
	end
	add(f.comm, comm)
	add(f.pid, pid)
	add(f.tid, type(ev.tid) == "number" and ev.tid or nil)
	add(f.result, outcome)
	if type(ev.result) == "number" then
		add(f.result_code, ev.result)
	end
	local failed = type(ev.result) == "number" and ev.result < 0
	add(f.failed, failed)
	if type(ev.ret) == "number" then
		add(f.ret, errno_text(ev.ret))
		add(f.ret_code, ev.ret)
	end
	if type(ev.path) == "string" then
		add(f.path, ev.path)
		add(f.abstract, ev.abstract == true)
	end
	if type(ev.daddr) == "string" then
		add(f.daddr, ev.daddr)
		add(f.dport, type(ev.dport) == "number" and ev.dport or nil)
	end
	if type(ev.dname) == "string" then
		add(f.dname, ev.dname)
	end
	if type(ev.saddr) == "string" then
		add(f.saddr, ev.saddr)
		add(f.sport, type(ev.sport) == "number" and ev.sport or nil)
	end
	for _, k in ipairs({ "exe", "cmdline", "container", "host", "family" }) do
		if type(ev[k]) == "string" then
			add(f[k], ev[k])
		end
	end
	for _, k in ipairs({ "ppid", "uid", "gid", "sockfd" }) do
		if type(ev[k]) == "number" then
			add(f[k], ev[k])
		end
	end
	for _, k in ipairs({ "latency_ns", "result_ns", "closed_ns", "tx_bytes", "rx_bytes" }) do
		local v = u64(nums and nums[k])
		if v then
			add(f[k], v)
		end
	end
	if ev.still_open == true then
		add(f.still_open, true)
	end
	add(f.synthesized, synth)
	if synth then
		t:add_proto_expert_info(ef_synth)
	elseif failed then
		-- One summary per error: Expert Information groups them.
		t:add_proto_expert_info(ef_failed, "Connect failed: " .. outcome)
	elseif ev.outcome == "abandoned" then
		t:add_proto_expert_info(ef_abandoned)
	end
	if text then
		t:add(f.json, text)
	end
	return string.format("[%s%s %s] ", synth and "synthesized: " or "", who, outcome), outcome
end

-------------------------------------------------- IP frames: comments

local f_comment = Field.new("frame.comment")

local function dissect_comments(tvb, pinfo, tree)
	local comments = { f_comment() }
	for _, c in ipairs(comments) do
		local s = tostring(c.value)
		if s:sub(1, #VERSION_TAG) == VERSION_TAG then
			local text = s:sub(#VERSION_TAG + 1)
			local ev, nums = json_decode(text)
			if not ev then
				local t = tree:add(p, "conntrail")
				t:add_proto_expert_info(ef_bad, "conntrail JSON: " .. tostring(nums))
				return
			end
			local prefix = add_event(tree, pinfo, ev, nums, nil, text)
			pinfo.cols.info:prepend(prefix)
			return
		end
	end
end

------------------------------------------- UNIX frames: ethertype 0x88b5

local function dissect_payload(tvb, pinfo, tree)
	local len = tvb:len()
	if len == 0 then
		return 0
	end
	local text = tvb:raw(0, len)
	if text:sub(1, 1) ~= "{" then
		return 0
	end
	local ev, nums = json_decode(text)
	pinfo.cols.protocol = ev and ev.family == "AF_UNIX" and "UNIX" or "conntrail"
	if not ev then
		local t = tree:add(p, tvb(), "conntrail")
		t:add_proto_expert_info(ef_bad, "conntrail JSON: " .. tostring(nums))
		return len
	end
	local prefix, outcome = add_event(tree, pinfo, ev, nums, tvb(), nil)
	local what
	if type(ev.path) == "string" then
		what = "UNIX connect -> " .. (ev.path ~= "" and ev.path or "(unnamed)")
	else
		what = "connect, family " .. tostring(ev.family)
	end
	if type(ev.type) == "string" then
		what = what .. " " .. ev.type
	end
	pinfo.cols.info = prefix .. what
	return len
end

function p.dissector(tvb, pinfo, tree)
	-- Called on a whole frame as the postdissector, on what follows the
	-- Ethernet header from the ethertype table.
	if tvb:offset() == 0 then
		return dissect_comments(tvb, pinfo, tree)
	end
	return dissect_payload(tvb, pinfo, tree)
end

register_postdissector(p)
DissectorTable.get("ethertype"):add(0x88b5, p)
