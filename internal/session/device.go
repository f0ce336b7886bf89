package session

import "strings"

// Device names the browser and system of a user agent in a few words, such as
// "Chrome on Linux", for the list of sessions. It is a guess for people to recognise their
// devices, not a security check; an unknown agent is "Unknown browser".
func Device(userAgent string) string {
	ua := userAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	b, o := browserOf(ua), systemOf(ua)
	switch {
	case b == "" && o == "":
		return "Unknown browser"
	case o == "":
		return b
	case b == "":
		return "Browser on " + o
	}
	return b + " on " + o
}

// browserOf checks the most specific tokens first: Edge and Opera also say Chrome, and
// Chrome also says Safari.
func browserOf(ua string) string {
	rules := []struct{ token, name string }{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
		{"OPR/", "Opera"}, {"Opera", "Opera"},
		{"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"},
		{"curl/", "curl"}, {"python-requests/", "Python requests"},
		{"Go-http-client/", "Go HTTP client"},
	}
	for _, r := range rules {
		if strings.Contains(ua, r.token) {
			return r.name
		}
	}
	return ""
}

// systemOf checks Android before Linux and iOS devices before macOS, since their agents
// also name the broader system.
func systemOf(ua string) string {
	rules := []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"},
		{"CrOS", "ChromeOS"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"},
		{"Macintosh", "macOS"}, {"Linux", "Linux"}, {"FreeBSD", "FreeBSD"},
	}
	for _, r := range rules {
		if strings.Contains(ua, r.token) {
			return r.name
		}
	}
	return ""
}
