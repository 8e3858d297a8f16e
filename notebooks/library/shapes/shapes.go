// Package shapes measures plane figures.
package shapes

import (
	"fmt"
	"math"
)

// Shape is a plane figure with an area and a perimeter.
type Shape interface {
	Area() float64
	Perimeter() float64
}

// Rect is a W by H rectangle.
type Rect struct{ W, H float64 }

func (r Rect) Area() float64      { return r.W * r.H }
func (r Rect) Perimeter() float64 { return 2 * (r.W + r.H) }
func (r Rect) String() string     { return fmt.Sprintf("%g×%g rectangle", r.W, r.H) }

// Circle is a circle of radius R.
type Circle struct{ R float64 }

func (c Circle) Area() float64      { return math.Pi * c.R * c.R }
func (c Circle) Perimeter() float64 { return 2 * math.Pi * c.R }
func (c Circle) String() string     { return fmt.Sprintf("circle of radius %g", c.R) }

// TotalArea adds up the areas of the shapes.
func TotalArea(shapes ...Shape) float64 {
	total := 0.0
	for _, s := range shapes {
		total += s.Area()
	}
	return total
}
