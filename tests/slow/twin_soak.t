#!/usr/bin/env bash
# Malformed-request soak: TWIN_SOAK_N (default 10,000) malformed or cut
# requests, each on its own connection to one `lightsout twin serve all`
# (Anthropic, OpenAI Responses and Chat, Gemini in turn): proper prefixes
# of a valid request, non-objects, random bytes, an empty body, some sent
# with the wrong Content-Type (text/plain, form-urlencoded, multipart,
# none). Each gets 400 in its provider's error shape. Every 10th request is
# instead cut in transfer (Content-Length promises more than is sent, then
# the client closes), which gets no answer; every 25th carries a 64 KB
# header, which gets 431 (or 413) and a closed connection. Then 24 slow
# clients trickle a valid request a few bytes at a time while a normal
# request must still be answered promptly, and each slow one gets its 200.
# The twin must survive all of it: a valid request still gets 200 and
# SIGTERM still stops it with exit 0.
set -u
cd "$(dirname "$0")/../.."
LIGHTSOUT=${LIGHTSOUT:-bin/lightsout}
N=${TWIN_SOAK_N:-10000}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
echo "1..5"
"$LIGHTSOUT" twin serve all --port 0 --tape tests/data/tapes/basic.jsonl \
    --log "$work/log" >"$work/out" 2>"$work/err" &
pid=$!
port=""
for _ in $(seq 200); do
    port=$(sed -n 's|^export ANTHROPIC_BASE_URL=http://127.0.0.1:||p' "$work/out")
    [ -n "$port" ] && break
    sleep 0.05
done
if [ -z "$port" ]; then
    echo "Bail out! the twin did not start: $(cat "$work/err")"
    exit 1
fi

perl - "$port" "$N" >"$work/soak" 2>&1 <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
my ($port, $n) = @ARGV;
# the twin may answer 431 and close while a 64 KB header is still being
# written: that is an EPIPE to handle here, not a signal that ends the soak
$SIG{PIPE} = 'IGNORE';
srand(42); # the same inputs every run
my @apis = (
    ['/v1/messages', '"type":"error","error":{"type":"invalid_request_error"',
     '{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}'],
    ['/v1/responses', '"type":"invalid_request_error"',
     '{"model":"gpt-5.4","input":[{"role":"user","content":"hello"}]}'],
    ['/v1/chat/completions', '"type":"invalid_request_error"',
     '{"model":"gpt-5.4","messages":[{"role":"user","content":"hello"}]}'],
    ['/v1beta/models/gemini-2.5-flash:generateContent', '"status":"INVALID_ARGUMENT"',
     '{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}'],
);
my @non_objects = ('[1,2]', 'null', '"text"', '42', 'true', '[]', '{"a":1}x', "{\"model\":\"\x{ff}\"}");
sub body_for {
    my ($valid, $i) = @_;
    my $k = $i % 7;
    return substr($valid, 0, int(rand(length $valid))) if $k <= 3; # a proper prefix
    return $non_objects[int(rand(@non_objects))] if $k == 4;
    return '' if $k == 5 && $i % 3 == 0;
    my $len = 1 + int(rand(200));
    my $s = '{';
    $s .= chr(int(rand(256))) for 1 .. $len; # random bytes after a brace
    return $s;
}
my @ctypes = ('Content-Type: text/plain', 'Content-Type: application/x-www-form-urlencoded',
              'Content-Type: multipart/form-data; boundary=x', '');
sub exchange {
    my ($path, $body, $cut, $ctype, $extra) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
                                  Timeout => 30) or return "connect: $!";
    my $len = length($body) + ($cut ? 1000 : 0);
    $ctype = 'Content-Type: application/json' unless defined $ctype;
    $ctype .= "\r\n" if $ctype ne '';
    print $s "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
      . "${ctype}anthropic-version: 2023-06-01\r\n" . ($extra // '')
      . "x-api-key: k\r\nAuthorization: Bearer k\r\nx-goog-api-key: k\r\n"
      . "Content-Length: $len\r\n\r\n$body";
    if ($cut) { close $s; return ''; }
    local $/;
    my $resp = <$s>;
    close $s;
    return defined $resp ? $resp : '';
}
my ($ok, $bad, $cut, $huge) = (0, 0, 0, 0);
my $pad = 'X-Pad: ' . ('p' x 65536) . "\r\n";
for my $i (1 .. $n) {
    my ($path, $shape, $valid) = @{$apis[$i % 4]};
    my $body = body_for($valid, $i);
    if ($i % 10 == 0) { exchange($path, $body, 1); $cut++; next; }
    my $r;
    if ($i % 25 == 0 || $i % 25 == 5) {
        # a 64 KB header: refused before any handler runs
        $r = exchange($path, $valid, 0, undef, $pad);
        if ($r =~ m{^HTTP/1\.[01] (431|413) }) { $huge++; next; }
    } else {
        my $ctype = $i % 7 == 6 ? $ctypes[int(rand(@ctypes))] : undef;
        $r = exchange($path, $body, 0, $ctype);
        if ($r =~ m{^HTTP/1\.[01] 400 } && index($r, $shape) >= 0) { $ok++; next; }
    }
    $bad++;
    if ($bad <= 5) {
        (my $b = $body) =~ s/[^\x20-\x7e]/?/g;
        (my $rr = substr($r, 0, 300)) =~ s/\r?\n/ | /g;
        print "# request $i $path body '$b' got: $rr\n";
    }
}
print "answered=$ok huge=$huge wrong=$bad cut=$cut\n";
PERL
cut=$((N / 10))
huge=$(awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) if (i % 10 && (i % 25 == 0 || i % 25 == 5)) c++; print c + 0 }')
want=$((N - cut - huge))
line=$(tail -n1 "$work/soak")
if [ "$line" = "answered=$want huge=$huge wrong=0 cut=$cut" ]; then
    echo "ok 1 - $want malformed bodies got 400 in their provider's error shape, $huge huge headers 431, $cut cut in transfer"
else
    echo "not ok 1 - every malformed body gets its provider's 400 ($line)"
    sed 's/^/# /' "$work/soak" | head -12
fi
if kill -0 "$pid" 2>/dev/null; then
    echo "ok 2 - the twin is still running"
else
    echo "not ok 2 - the twin is still running"
    tail -5 "$work/err" | sed 's/^/# /'
fi
res=$(curl -s -m 30 -w '\n%{http_code}' -H 'x-api-key: k' -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}' \
    "http://127.0.0.1:$port/v1/messages")
if [ "$(tail -n1 <<<"$res")" = 200 ] && [[ "$res" == *"Hello! How can I help you today?"* ]]; then
    echo "ok 3 - a valid request afterwards gets 200 and the tape's answer"
else
    echo "not ok 3 - a valid request afterwards gets 200"
    echo "# $res"
fi
# slow clients: 24 connections each trickle a valid request, 3 bytes every
# 25 ms (about 3 s a request); halfway through, a normal request must be
# answered within 2 s, and every slow client must get its 200 at the end
perl - "$port" >"$work/slow" 2>&1 <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
my ($port) = @ARGV;
$SIG{PIPE} = 'IGNORE'; # a connection the twin closed is a failure to report, not a crash
my $body = '{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}';
my $req = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
  . "Content-Type: application/json\r\nanthropic-version: 2023-06-01\r\nx-api-key: k\r\n"
  . "Content-Length: " . length($body) . "\r\n\r\n$body";
my @socks = map {
    IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 30)
      or die "connect: $!"
} 1 .. 24;
$_->autoflush(1) for @socks;
my ($off, $fast) = (0, -1);
while ($off < length $req) {
    my $piece = substr($req, $off, 3);
    print $_ $piece for @socks;
    $off += 3;
    if ($fast < 0 && $off >= length($req) / 2) {
        my $t0 = time;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
                                      Timeout => 10) or die "connect: $!";
        print $s $req;
        local $/;
        my $r = <$s> // '';
        $fast = $r =~ m{^HTTP/1\.1 200 } ? time - $t0 : 99;
    }
    sleep 0.025;
}
my $good = 0;
for my $s (@socks) {
    local $/;
    my $r = <$s> // '';
    $good++ if $r =~ m{^HTTP/1\.1 200 } && index($r, 'Hello! How can I help you today?') >= 0;
}
printf "slow=%d/24 fast=%s\n", $good, ($fast >= 0 && $fast < 2) ? 'prompt' : sprintf('%.2fs', $fast);
PERL
line=$(tail -n1 "$work/slow")
if [ "$line" = "slow=24/24 fast=prompt" ]; then
    echo "ok 4 - 24 slow clients trickling requests each get 200, a normal request meanwhile is answered within 2 s"
else
    echo "not ok 4 - slow clients ($line)"
    sed 's/^/# /' "$work/slow" | head -5
fi
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
if [ "$rc" -eq 0 ]; then
    echo "ok 5 - SIGTERM stops the twin with exit 0"
else
    echo "not ok 5 - SIGTERM stops the twin with exit 0 (exit $rc)"
fi
