package main

// netMedium is sandbox.url: the network brought up, the image fetched into
// RAM (checked as it comes, with sandbox.verity) and loop-attached from
// there as toram's copy would be; nothing to let go of.
type netMedium struct {
	s     *sandbox
	image string // the copy in RAM, once fetched
	dev   string // the origin attach made of it
}

func newNetMedium(s *sandbox) medium { return &netMedium{s: s} }

func (m *netMedium) find() []step {
	return []step{
		{"net", m.s.netUp}, // NIC drivers by modalias, link up, DHCP or ip=
		{"fetch", m.fetch}, // sandbox.url into RAM, checked block by block as it comes
	}
}

func (m *netMedium) attach() []step {
	return []step{{"image", func() (err error) { // the copy in RAM, loop-attached read-only
		m.dev, err = m.s.attachImage(m.image, "the image fetched into RAM (sandbox.url); ")
		return err
	}}}
}

func (*netMedium) release() []step  { return nil }
func (m *netMedium) origin() string { return m.dev }

func (m *netMedium) fetch() (err error) {
	m.image, err = m.s.fetchImage()
	return err
}
