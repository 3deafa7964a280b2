package fold

import "testing"

func TestBytes(t *testing.T) {
	tests := []struct{ title, in, want string }{
		{"ASCII stays as it is", "Hunger Games", "Hunger Games"},
		{"precomposed accents go", "Müller García", "Muller Garcia"},
		{"decomposed accents go too", "Mu\u0308ller", "Muller"},
		{"letters without a decomposition fold", "Łódź Ørsted Straße", "Lodz Orsted Strasse"},
		{"other scripts keep their marks", "हिन्दी", "हिन्दी"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			if got := string(Bytes([]byte(tt.in))); got != tt.want {
				t.Fatalf("Bytes(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
