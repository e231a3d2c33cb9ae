// Command baregif is the baseline of scripts/load-compare.sh: a bare net/http
// server that answers every request with the same 43-byte transparent GIF and
// the same headers as the pixel receiver's image pixel, and does nothing else
// (no query parsing, no pipeline, no confighttp middleware). Running it as its
// own process makes the comparison with the collector process-to-process fair.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

// transparentGIF is byte-for-byte the GIF of receiver/pixelreceiver/pixel.go.
var transparentGIF = []byte{
	'G', 'I', 'F', '8', '9', 'a',
	0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x02, 0x44, 0x01, 0x00,
	0x3b,
}

var gifLength = strconv.Itoa(len(transparentGIF))

func main() {
	listen := flag.String("listen", "127.0.0.1:18091", "listen address (loopback)")
	flag.Parse()
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "image/gif")
		h.Set("Content-Length", gifLength)
		h.Set("Cache-Control", "no-store, max-age=0")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(transparentGIF)
	})
	log.Fatal((&http.Server{Addr: *listen, Handler: handler}).ListenAndServe())
}
